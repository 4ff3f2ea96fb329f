#!/usr/bin/env python3
"""What 1,000 one-hour calls cost on AWS, from the requests one call was counted making.

Reads `target/requests-per-call/{transcript,deepgram,transcribe}.json`, which
`tests/tests/requests_per_call_on_aws.rs` writes (`make cost` runs it first), and prints two
Markdown tables for the README: the AWS requests per call by function and service, and the
list price of 1,000 one-hour calls per path.

The prices are us-east-1 list prices (the region the template is validated for), as we knew
them on the date below: check them before quoting. Where a cost is not counted but estimated,
the row says so:

- Lambda: each function's measured handler time for the call (against the local AWS stand-in
  on a 2-core machine, so a little above what DynamoDB's own latency gives), billed by the
  millisecond at the template's 256 MB on arm64, plus the invocations.
- DynamoDB on demand: capacity units from each request's bytes (a write unit per KiB sent,
  two for a transaction; a read unit per 4 KiB answered, as strongly consistent reads); the
  bytes of a request's JSON are a little above the item's own size, so this errs high.
- S3 and SQS: the counted requests, plus those AWS makes for us (S3's event notification into
  the upload queue, the Lambda poller's receive and delete on both queues) and the client's
  presigned upload, which are not in any of our SDK logs.
- API Gateway (HTTP API): the client's two requests (create, read the analysis) and a
  provider's callback.
- KMS: none on a warm process (data keys are cached 5 minutes); the first call of a process
  or after the cache's age unwraps a key per category, shown as its own row.
"""

import argparse
import json
import math
import pathlib
import sys

PRICES_AS_OF = "2026-12-04"
PRICES = {
    "lambda_gb_second_arm64": 0.0000133334,
    "lambda_request": 0.20 / 1e6,
    "dynamodb_write_unit": 0.625 / 1e6,
    "dynamodb_read_unit": 0.125 / 1e6,
    "kms_request": 0.03 / 1e4,
    "s3_put_class": 0.005 / 1e3,  # PUT, COPY, POST, LIST
    "s3_get_class": 0.0004 / 1e3,  # GET and all other requests
    "sqs_request": 0.40 / 1e6,  # standard queue, per 64 KiB chunk
    "api_gateway_http_request": 1.00 / 1e6,
    "s3_standard_gb_month": 0.023,
    "transcribe_minute": 0.024,  # standard batch, first 250,000 minutes a month
    "deepgram_minute": 0.0043,  # Nova-3 pre-recorded, pay as you go
    "llm_input_token": 0.15 / 1e6,  # gpt-4o-mini, the README's example model
    "llm_output_token": 0.60 / 1e6,
}
MEMORY_GB = 256 / 1024
CALLS = 1000
PATHS = ("transcript", "deepgram", "transcribe")
# Invocations of each function per call (the api: create, then read the analysis).
INVOCATIONS = {"api": 2, "upload-trigger": 1, "transcription-callback": 1, "scoring-worker": 1}
# Requests AWS makes for us per call, per path: S3 -> SQS notification and the poller's
# receive and delete on the upload queue, the poller's receive and delete on the scoring queue.
PLATFORM_SQS = 3 + 2
API_GATEWAY_REQUESTS = {"transcript": 2, "deepgram": 3, "transcribe": 2}
# An hour of speech recorded at 128 kbit/s, kept for a month.
RECORDING_GB = 3600 * 128_000 / 8 / 1e9
# The LLM coach's one request per scoring: the call's tokens (about 4/3 a word) and the
# system prompt and rubric, and at most its output cap.
LLM_PROMPT_TOKENS = 1_500
LLM_OUTPUT_CAP = 2_000
TOKENS_PER_WORD = 4 / 3

S3_PUT_CLASS = ("PutObject", "DeleteObjects", "ListObjectsV2", "ListObjectVersions",
                "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "CopyObject")


def load(folder):
    runs = {}
    for path in PATHS:
        file = folder / f"{path}.json"
        if not file.exists():
            sys.exit(f"{file} is missing: run the counting test first (make cost)")
        runs[path] = json.loads(file.read_text())
    return runs


def others_by_service(run):
    """The requests not in our logs, as (service.Operation, count)."""
    counted = {}
    for who, count in run["by_others"].items():
        operation = who.split(": ", 1)[1].split(" ", 1)[0]
        counted[operation] = counted.get(operation, 0) + count
    return counted


def dynamodb_units(run):
    reads = writes = 0.0
    for requests in run["dynamodb_bytes"].values():
        for operation, sent, received in requests:
            if operation in ("dynamodb.GetItem", "dynamodb.Query", "dynamodb.BatchGetItem"):
                reads += max(1, math.ceil(received / 4096))
            elif operation == "dynamodb.TransactWriteItems":
                writes += 2 * max(1, math.ceil(sent / 1024))
            else:
                writes += max(1, math.ceil(sent / 1024))
    return reads, writes


def costs(run):
    """One call's cost in dollars, by line."""
    ops = {}
    for function in run["requests"].values():
        for operation, count in function.items():
            ops[operation] = ops.get(operation, 0) + count
    for operation, count in others_by_service(run).items():
        ops[operation] = ops.get(operation, 0) + count
    lambda_cost = 0.0
    for function, ms in run["handler_ms"].items():
        invocations = INVOCATIONS[function]
        lambda_cost += invocations * PRICES["lambda_request"]
        lambda_cost += math.ceil(ms) / 1000 * MEMORY_GB * PRICES["lambda_gb_second_arm64"]
    reads, writes = dynamodb_units(run)
    s3_put = sum(n for op, n in ops.items() if op.startswith("s3.") and op[3:] in S3_PUT_CLASS)
    s3_get = sum(n for op, n in ops.items() if op.startswith("s3.") and op[3:] not in S3_PUT_CLASS)
    sqs = sum(n for op, n in ops.items() if op.startswith("sqs.")) + PLATFORM_SQS
    kms_warm = sum(n for op, n in ops.items() if op.startswith("kms."))
    kms_cold = sum(n for function in run["first_call_requests"].values()
                   for op, n in function.items() if op.startswith("kms."))
    minutes = run["minutes"]
    words = run["words"]
    llm_tokens_in = words * TOKENS_PER_WORD + LLM_PROMPT_TOKENS
    transcription = {
        "transcript": 0.0,
        "deepgram": minutes * PRICES["deepgram_minute"],
        "transcribe": minutes * PRICES["transcribe_minute"],
    }[run["path"]]
    return {
        "Lambda (arm64, 256 MB)": lambda_cost,
        "DynamoDB on demand": reads * PRICES["dynamodb_read_unit"]
        + writes * PRICES["dynamodb_write_unit"],
        "KMS (warm process)": kms_warm * PRICES["kms_request"],
        "KMS (every call on a cold key cache)": kms_cold * PRICES["kms_request"],
        "S3 requests": s3_put * PRICES["s3_put_class"] + s3_get * PRICES["s3_get_class"],
        "SQS": sqs * PRICES["sqs_request"],
        "API Gateway (HTTP API)": API_GATEWAY_REQUESTS[run["path"]]
        * PRICES["api_gateway_http_request"],
        "S3 storage of the recording, a month": 0.0 if run["path"] == "transcript"
        else RECORDING_GB * PRICES["s3_standard_gb_month"],
        "transcription": transcription,
        "LLM coach (optional; the deterministic coach costs nothing more)":
        llm_tokens_in * PRICES["llm_input_token"] + LLM_OUTPUT_CAP * PRICES["llm_output_token"],
    }


def requests_table(runs):
    rows = {}
    for path, run in runs.items():
        for function, ops in run["requests"].items():
            for operation, count in ops.items():
                rows.setdefault((function, operation), {})[path] = count
        for who, count in run["by_others"].items():
            rows.setdefault(("not ours: " + who.split(": ")[0], who.split(": ", 1)[1]), {})[
                path] = count
    lines = ["| function | request | " + " | ".join(PATHS) + " |",
             "|---|---|" + "---:|" * len(PATHS)]
    for (function, operation), counts in sorted(rows.items()):
        cells = " | ".join(str(counts.get(p, "")) for p in PATHS)
        lines.append(f"| {function} | `{operation}` | {cells} |")
    totals = []
    for path in PATHS:
        totals.append(str(sum(sum(ops.values()) for ops in runs[path]["requests"].values())))
    lines.append("| **all our functions** | | " + " | ".join(f"**{t}**" for t in totals) + " |")
    return "\n".join(lines)


def dollars(amount):
    return f"${amount:,.2f}" if amount >= 1 else f"${amount:.4f}"


def cost_table(runs):
    per_path = {path: costs(run) for path, run in runs.items()}
    lines = [f"| per {CALLS:,} one-hour calls (list prices of {PRICES_AS_OF}) | "
             + " | ".join(PATHS) + " |", "|---|" + "---:|" * len(PATHS)]
    aws_lines = [line for line in per_path["transcript"]
                 if line not in ("transcription",) and not line.startswith("LLM")
                 and "cold" not in line]
    for line in per_path["transcript"]:
        cells = " | ".join(dollars(per_path[p][line] * CALLS) for p in PATHS)
        lines.append(f"| {line} | {cells} |")
        if line == aws_lines[-1]:
            sums = " | ".join(f"**{dollars(sum(per_path[p][x] for x in aws_lines) * CALLS)}**"
                              for p in PATHS)
            lines.append(f"| **AWS, without transcription and LLM** | {sums} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=pathlib.Path,
                        default=pathlib.Path(__file__).resolve().parent.parent
                        / "target" / "requests-per-call")
    args = parser.parse_args()
    runs = load(args.runs)
    print("AWS requests one call makes, by function (the counted second call of warm processes):\n")
    print(requests_table(runs))
    print()
    print(cost_table(runs))
    print()
    print("Handler time per call (ms, against the local AWS): " + "; ".join(
        f"{path}: " + ", ".join(f"{f} {ms:.0f}" for f, ms in sorted(run['handler_ms'].items()))
        for path, run in runs.items()))


if __name__ == "__main__":
    main()
