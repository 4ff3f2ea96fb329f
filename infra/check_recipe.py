"""The README's cargo-lambda recipe, run as written: `cargo lambda watch` against the local
AWS, every sample in `events/` sent with `cargo lambda invoke`, each answer checked against
what the README's "Running one function locally" table says it is.

Run through `infra/local-aws.sh run` (it exports the stand-in's environment). Exits non-zero
naming every sample whose answer differs.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# An invoke builds its function on first use: generous, but bounded.
INVOKE_TIMEOUT_S = 600
READY_TIMEOUT_S = 60


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


PORT = free_port()
ADDRESS = ["--invoke-address", "127.0.0.1", "--invoke-port", str(PORT)]
NOT_FOUND_BODY = ('{"type":"about:blank","title":"Not Found","status":404,'
                  '"detail":"The resource does not exist."}')


def failures_are(*ids):
    return lambda answer: [f["itemIdentifier"] for f in answer["batchItemFailures"]] == list(ids)


def answers(code, body):
    return lambda answer: answer["statusCode"] == code and answer["body"] == body


# (function, sample, what the answer must be, in the README's words). In this order: the
# provisioning samples make the workspace the later ones name.
SAMPLES = [
    ("upload-trigger", "upload-notification.json", failures_are(),
     "no failures: the S3 test event is skipped, the unknown call's notification rejected"),
    ("scoring-worker", "scoring-batch.json", failures_are(),
     "no failures: the job of an unknown call is done with, the poison message dropped"),
    ("api", "api-get-call.json", answers(404, NOT_FOUND_BODY), "404 (the call does not exist)"),
    ("api", "api-export-job.json", failures_are(),
     "no failures: the job of no workspace is done with, the poison message dropped"),
    ("transcription-callback", "deepgram-callback.json",
     answers(401, '{"outcome":"unauthorized"}'), "401 (no call waits for that job)"),
    ("transcription-callback", "transcribe-job-state-change.json",
     lambda a: a["outcome"].startswith("Ignored"), "Ignored (no call waits for that job)"),
    ("transcription-callback", "transcription-sweep.json",
     lambda a: a["overdue"]["finished"] and a["errors"] == 0, "a finished sweep, no errors"),
    ("retention-reaper", "reaper-schedule.json",
     lambda a: a["finished"] and a["failed_tenants"] == 0, "a finished run, no failed tenant"),
    ("retention-reaper", "workspace-provisioned.json",
     lambda a: a["workspace_created"] is True and a["admin_added"] is True,
     "the workspace and its first admin created"),
    ("retention-reaper", "provision.json",
     lambda a: a["workspace_created"] is False, "the workspace exists already"),
    ("retention-reaper", "set-quotas.json",
     lambda a: a["tenant_id"] == "demo-tenant" and a["quotas"]["calls_per_day"] == 200,
     "the workspace's own quotas"),
    ("retention-reaper", "breach-scope.json",
     lambda a: a["finished"] and a["affected"] == [], "a finished scope, nothing affected"),
]
# A sample answered with an error: (function, sample, words the error must hold).
REFUSED = [
    ("retention-reaper", "account-cancelled.json", "too far from when it was received"),
]


# `cargo lambda` comes with `.venv` (infra/tools.sh local).
ENV = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"}


def invoke(function, sample):
    return subprocess.run(
        ["cargo", "lambda", "invoke", function, *ADDRESS,
         "--data-file", str(ROOT / "events" / sample)],
        cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=INVOKE_TIMEOUT_S,
    )


def wait_until_listening(watch):
    """Until `cargo lambda watch` takes connections on its port; fails if it exits first."""
    until = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < until:
        if watch.poll() is not None:
            sys.exit(f"cargo lambda watch exited with {watch.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    sys.exit(f"cargo lambda watch did not listen on {PORT} within {READY_TIMEOUT_S} s")


def main():
    watch = subprocess.Popen(
        ["cargo", "lambda", "watch", *ADDRESS],
        cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wrong = []
    try:
        wait_until_listening(watch)
        for function, sample, holds, meant in SAMPLES:
            done = invoke(function, sample)
            try:
                answer = json.loads(done.stdout.strip().splitlines()[-1])
                ok = done.returncode == 0 and holds(answer)
            except (IndexError, KeyError, TypeError, ValueError):
                ok, answer = False, done.stdout.strip() or done.stderr.strip()[-400:]
            print(f"{'PASS' if ok else 'FAIL'} {function} {sample}: {meant}")
            if not ok:
                wrong.append(f"{function} {sample}: expected {meant}, answered {answer}")
        for function, sample, words in REFUSED:
            done = invoke(function, sample)
            ok = done.returncode != 0 and words in done.stderr
            print(f"{'PASS' if ok else 'FAIL'} {function} {sample}: refused, \"{words}\"")
            if not ok:
                wrong.append(f"{function} {sample}: expected a refusal naming \"{words}\"")
    finally:
        os.killpg(watch.pid, signal.SIGTERM)
        try:
            watch.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(watch.pid, signal.SIGKILL)
    if wrong:
        print("\n".join(wrong), file=sys.stderr)
        sys.exit(1)
    print(f"recipe: {len(SAMPLES) + len(REFUSED)} samples answered as the README says")


if __name__ == "__main__":
    main()
