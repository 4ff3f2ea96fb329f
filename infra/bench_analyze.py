#!/usr/bin/env python3
"""Whole-process benchmark of `callcoach analyze`: wall time from exec to exit.

Criterion (shared/benches/pipeline.rs) measures parsing and the coach inside one process; this
measures what a user waits for: process start, reading the file, detection, parsing, metrics and
coach, and writing the JSON report. The synthetic calls are the criterion bench's shape (two
speakers alternating over six lines, 0.3 s per word, punctuation as its own items) written as
Amazon Transcribe batch output, at 9,000 words (about an hour) and at two and four times that.

Usage: bench_analyze.py [BINARY] [--runs N]   (default target/release/callcoach, 41 runs)
Prints the cost of starting the process alone, then one row per size: median and p10-p90
wall time, and the ratio to the size before.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

LINES = [
    "So what made you look at this now?",
    "Our reps spend hours on notes and the budget is tight this year.",
    "How many people are on the team today and who else decides?",
    "We already use a spreadsheet and honestly it works fine for us.",
    "I can send you a proposal, does Tuesday at 2pm work for a follow up?",
    "Um, you know, the pricing looked expensive compared to what we have.",
]
SIZES = [9_000, 18_000, 36_000]
PUNCTUATION = "?,."


def transcribe_json(count):
    items = []
    t, line, words = 0.0, 0, 0
    while words < count:
        speaker = line % 2
        for word in LINES[line % len(LINES)].split():
            if words == count:
                break
            bare = word.rstrip(PUNCTUATION)
            items.append({
                "start_time": f"{t:.2f}",
                "end_time": f"{t + 0.28:.2f}",
                "speaker_label": f"spk_{speaker}",
                "type": "pronunciation",
                "alternatives": [{"confidence": "0.98", "content": bare}],
            })
            if word[-1] in PUNCTUATION:
                items.append({
                    "type": "punctuation",
                    "alternatives": [{"confidence": "0.0", "content": word[-1]}],
                })
            t += 0.3
            words += 1
        t += 0.7
        line += 1
    return json.dumps({
        "jobName": "bench",
        "status": "COMPLETED",
        "results": {"transcripts": [{"transcript": ""}], "items": items},
    })


def wall_ms(command, expected=0):
    start = time.perf_counter_ns()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = (time.perf_counter_ns() - start) / 1e6
    if done.returncode != expected:
        sys.exit(f"{' '.join(command)} failed: {done.stderr.decode(errors='replace')}")
    return elapsed


def summary(times):
    times = sorted(times)
    deciles = statistics.quantiles(times, n=10)
    return statistics.median(times), deciles[0], deciles[-1]


def main():
    args = sys.argv[1:]
    runs = 41
    if "--runs" in args:
        at = args.index("--runs")
        runs = int(args[at + 1])
        del args[at:at + 2]
    binary = args[0] if args else "target/release/callcoach"
    if not os.access(binary, os.X_OK):
        sys.exit(f"{binary} is not built: cargo build --release -p callcoach")
    print(f"callcoach analyze --json, whole process, {runs} runs per size (median, p10-p90)")
    # What every run pays before any work: starting the process (the usage text, exit 2).
    start_only = summary(wall_ms([binary], expected=2) for _ in range(runs))
    print(f"  process start only: {start_only[0]:6.2f} ms (p10 {start_only[1]:.2f}, p90 {start_only[2]:.2f})")
    previous = None
    with tempfile.TemporaryDirectory() as folder:
        for size in SIZES:
            path = os.path.join(folder, f"call-{size}.json")
            with open(path, "w") as f:
                f.write(transcribe_json(size))
            command = [binary, "analyze", path, "--json"]
            for _ in range(3):  # warm the page cache and the binary
                wall_ms(command)
            median, p10, p90 = summary(wall_ms(command) for _ in range(runs))
            ratio = f"{median / previous:.2f}x" if previous else "-"
            size_kb = os.path.getsize(path) // 1024
            print(
                f"{size:>8} words ({size_kb:>5} KiB): {median:6.2f} ms "
                f"(p10 {p10:.2f}, p90 {p90:.2f}), ratio {ratio}"
            )
            previous = median

if __name__ == "__main__":
    main()
