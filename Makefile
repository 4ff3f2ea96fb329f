# The two commands: `make demo` (the main job) and `make test` (every check).
SHELL := /bin/bash
export SAM_CLI_TELEMETRY := 0

.PHONY: demo test bench cost eval fuzz chaos load fmt-check clippy template-check unit-and-emulator-tests recipe-check deployable-build-check tools

demo: tools
	cargo build --quiet -p callcoach
	infra/local-aws.sh run target/debug/callcoach demo

test: tools fmt-check clippy template-check unit-and-emulator-tests recipe-check deployable-build-check

tools:
	infra/tools.sh local
	infra/tools.sh sam
	infra/tools.sh checkov

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

template-check:
	.venv/bin/cfn-lint template.yaml
	.venv-sam/bin/sam validate --lint --region us-east-1 -t template.yaml
	.venv/bin/python infra/check_template.py
	.venv-checkov/bin/checkov -f template.yaml --framework cloudformation --quiet --compact --skip-download

unit-and-emulator-tests:
	infra/local-aws.sh run cargo test --workspace

# The README's cargo-lambda recipe as written: `cargo lambda watch` on the local AWS, every
# sample in events/ invoked, each answer checked against the README's table.
recipe-check:
	infra/local-aws.sh run .venv/bin/python infra/check_recipe.py

# Every function built as `sam build` builds it (workspace root): no local-only code inside,
# each under 10 MB.
deployable-build-check:
	infra/check_build.sh

# Speed figures for the README (not part of `make test`): criterion benches, the whole
# `callcoach analyze` process (infra/bench_analyze.py), and the cold start
# and size of each function's release binary through a local Lambda runtime API.
bench: tools
	cargo bench -p callcoach-shared --bench pipeline
	cargo bench -p api --bench handler
	cargo build --release -p callcoach
	python3 infra/bench_analyze.py
	infra/check_build.sh
	infra/local-aws.sh run .venv/bin/python infra/bench_cold_start.py

# What one call costs: the AWS requests of a one-hour call counted on each path (the same
# test `make test` runs, which asserts their bounds), then the README's request and cost tables.
cost: tools
	infra/local-aws.sh run cargo test -q -p callcoach-tests --test requests_per_call_on_aws
	python3 infra/cost_per_call.py

# The coach measured against hand labels (not part of `make test`, whose eval tests check the
# command): the shared labelled set beside the repository, then the repository's own labels
# of real samples (call files derived into a temporary folder; transcripts are not copied).
EVAL_CALLS ?= /tmp/eval-own-calls
eval:
	cargo build --quiet -p callcoach
	target/debug/callcoach eval ../shared/testdata/eval/labels.json ../shared/testdata/eval/calls
	python3 infra/eval_calls.py ../shared/testdata $(EVAL_CALLS)
	target/debug/callcoach eval tests/eval/labels.json $(EVAL_CALLS)

# Every parser's fuzz target for FUZZ_SECONDS each (needs a nightly toolchain; not part of
# `make test`, whose property tests cover the same parsers on stable).
FUZZ_SECONDS ?= 60
fuzz:
	infra/fuzz.sh $(FUZZ_SECONDS)

# The chaos run (issue 18; not part of `make test`, which runs a 20-call version of it): 200
# calls of 20 tenants through the whole local pipeline under 10% AWS faults, failing providers
# and SIGKILLed functions, then every store audited; prints one summary line, exits 1 when a
# rule broke. CHAOS_ARGS="--seed N" replays a run (the seed is printed).
CHAOS_ARGS ?=
chaos: tools
	infra/local-aws.sh run cargo run --quiet -p callcoach-tests --bin chaos -- $(CHAOS_ARGS)

# The load run (issue 18; not part of `make test`, which runs a small version of it): 100
# calls of 50 tenants through the pipeline with 1 and then 4 scoring workers, then 2,000 API
# requests of a seeded mix over them, 16 at a time; prints the README's latency,
# DynamoDB-request and throughput tables. LOAD_ARGS="--seed N" replays the mix.
LOAD_ARGS ?=
load: tools
	infra/local-aws.sh run cargo run --quiet -p callcoach-tests --bin load -- $(LOAD_ARGS)
