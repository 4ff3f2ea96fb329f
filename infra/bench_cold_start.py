"""Cold start and size of each function's release binary.

For every function: the size of the binary `sam build` ships (`target/lambda/<function>/bootstrap`,
built at the workspace root by `infra/check_build.sh` exactly as SAM builds it), and the time
from process start
to the first handled event through a local Lambda runtime API (this script plays it: it
serves `GET /2018-06-01/runtime/invocation/next` once with a sample event from `events/` and
times the `POST .../response`). Run under the local AWS stand-in, since handling some events
reads the table:

    infra/check_build.sh
    infra/local-aws.sh run .venv/bin/python infra/bench_cold_start.py

Budget: each function under 10 MB and under 50 ms to the first handled event.
"""

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 7
FUNCTIONS = {
    "api": json.loads((ROOT / "events/api-get-call.json").read_text()),
    "upload-trigger": json.loads((ROOT / "events/upload-notification.json").read_text()),
    "transcription-callback": json.loads((ROOT / "events/deepgram-callback.json").read_text()),
    "scoring-worker": json.loads((ROOT / "events/scoring-batch.json").read_text()),
    "retention-reaper": {**json.loads((ROOT / "events/reaper-schedule.json").read_text()),
                         "detail": {"dry_run": True}},
}


class Runtime(BaseHTTPRequestHandler):
    event = None
    served = False
    answered = None  # (monotonic time, path)

    def log_message(self, *args):
        pass

    def do_GET(self):
        cls = type(self)
        if not self.path.endswith("/runtime/invocation/next") or cls.served:
            time.sleep(30)  # the function waits for a second event that never comes
            return
        cls.served = True
        body = json.dumps(cls.event).encode()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", "bench-request-1")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                         "arn:aws:lambda:us-east-1:123456789012:function:bench")
        self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        type(self).answered = (time.monotonic(), self.path)
        self.send_response(202)
        self.end_headers()


def cold_start_ms(binary: Path, event: dict) -> float:
    handler = type("Handler", (Runtime,), {"event": event, "served": False, "answered": None})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        **os.environ,
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_port}",
        "AWS_LAMBDA_FUNCTION_NAME": binary.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_LOG_LEVEL": "WARN",
    }
    started = time.monotonic()
    process = subprocess.Popen([str(binary)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        while handler.answered is None:
            if process.poll() is not None:
                raise RuntimeError(f"{binary.name} exited with {process.returncode}")
            if time.monotonic() - started > 20:
                raise RuntimeError(f"{binary.name} answered nothing in 20 s")
            time.sleep(0.0005)
        finished, path = handler.answered
        if not path.endswith("/response"):
            raise RuntimeError(f"{binary.name} reported an error: {path}")
        return (finished - started) * 1000
    finally:
        process.kill()
        process.wait()
        server.shutdown()


def main() -> int:
    rows, failed = [], False
    for name, event in FUNCTIONS.items():
        binary = ROOT / "target/lambda" / name / "bootstrap"
        size_mb = binary.stat().st_size / 1_000_000
        times = [cold_start_ms(binary, event) for _ in range(RUNS)]
        median = statistics.median(times)
        ok = size_mb < 10 and median < 50
        failed |= not ok
        rows.append(f"| {name} | {size_mb:.2f} MB | {median:.1f} ms | {max(times):.1f} ms | "
                    f"{'yes' if ok else 'NO'} |")
    print(f"| function | release binary | first event, median of {RUNS} | slowest | "
          "within budget |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
