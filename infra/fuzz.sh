#!/usr/bin/env bash
# Runs every parser's cargo-fuzz target for a bounded time: infra/fuzz.sh [seconds per target]
# (default 60). Needs a nightly toolchain (libFuzzer instrumentation); installs cargo-fuzz,
# pinned, into .local/cargo-fuzz the first time. Exits non-zero on the first crash, leaving
# the input under shared/fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-60}"
CARGO_FUZZ_VERSION="0.13.2"
TOOLS="$PWD/.local/cargo-fuzz"
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "[fuzz] needs a nightly toolchain: rustup toolchain install nightly" >&2
    exit 2
fi
if [ ! -x "$TOOLS/bin/cargo-fuzz" ]; then
    echo "[fuzz] installing cargo-fuzz $CARGO_FUZZ_VERSION into $TOOLS (once)" >&2
    cargo install --locked --quiet --root "$TOOLS" cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi
export PATH="$TOOLS/bin:$PATH"
cd shared
for target in $(cargo +nightly fuzz list --fuzz-dir fuzz); do
    echo "[fuzz] $target for ${SECONDS_PER_TARGET}s" >&2
    mkdir -p "fuzz/corpus/$target"
    log="fuzz/$target.log"
    if ! cargo +nightly fuzz run --fuzz-dir fuzz "$target" "fuzz/corpus/$target" ../events -- \
        -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -print_final_stats=1 >"$log" 2>&1; then
        tail -40 "$log" >&2
        echo "[fuzz] $target failed: see shared/$log and shared/fuzz/artifacts/$target/" >&2
        exit 1
    fi
    grep -E "^stat::number_of_executed_units" "$log" >&2 || true
done
echo "[fuzz] every target ran ${SECONDS_PER_TARGET}s without a crash" >&2
