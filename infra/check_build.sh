#!/usr/bin/env bash
# Builds every function the way `sam build` does and checks what ships.
#
# SAM's rust-cargolambda build runs `cargo lambda build --release [--arm64] --bin NAME` in the
# function's CodeUri, which for every function here is the workspace root, so Cargo resolves
# features over the workspace's default members. This script runs that same command for each
# function the template names (x86_64 here: CI cannot add the arm64 target; the features and
# the code that goes in are the same), then fails if
#   - a binary carries local-only code (the local token verifier's issuer and audience, or the
#     JWT crate it uses), or
#   - a binary is 10 MB or more.
#   - the dependency graph of the build (Cargo's, over the same default members) reaches a
#     local-only crate (the CLI, the local router, the test crate, a JWT library) or turns on
#     the domain crate's in-memory fakes.
# It prints one line per function (size, verdict) and exits non-zero on any failure.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH"

LIMIT=$((10 * 1000 * 1000))
# Strings only the local-only identity code contains (infra/local-router/src/local_auth.rs).
MARKERS=("callcoach-local-api" "callcoach-local" "jsonwebtoken")

# The functions the template builds (a failure here fails the script: no partial list).
BINARY_LIST=$(.venv/bin/python - <<'EOF'
from cfnlint.decode import cfn_yaml
template = cfn_yaml.load("template.yaml")
for resource in template["Resources"].values():
    if resource["Type"] != "AWS::Serverless::Function":
        continue
    metadata = resource.get("Metadata", {})
    if metadata.get("BuildMethod") == "rust-cargolambda":
        assert resource["Properties"].get("CodeUri") in ("./", "."), "CodeUri must be the root"
        print(metadata["BuildProperties"]["Binary"])
EOF
)
mapfile -t BINARIES <<<"$BINARY_LIST"
[[ ${#BINARIES[@]} -gt 0 && -n "${BINARIES[0]}" ]] || { echo "no rust-cargolambda function in template.yaml" >&2; exit 1; }

# The graph the root build resolves (no -p: the default members, as SAM's --bin builds).
GRAPH=$(cargo tree -e normal --prefix none --quiet)
FEATURES=$(cargo tree -e normal,features -i callcoach-shared --prefix none --quiet)
failed=0
for local_only in callcoach callcoach-local-router callcoach-tests jsonwebtoken; do
  if grep -qE "^${local_only} v" <<<"$GRAPH"; then
    echo "FAIL: the deployable build depends on $local_only"
    failed=1
  fi
done
if grep -qF 'callcoach-shared feature "fakes"' <<<"$FEATURES"; then
  echo "FAIL: the deployable build turns on the in-memory fakes"
  failed=1
fi

for bin in "${BINARIES[@]}"; do
  # Exactly SAM's command (without --arm64), one function at a time as SAM builds them.
  cargo lambda build --release --bin "$bin" --quiet
  artifact="target/lambda/$bin/bootstrap"
  size=$(stat -c %s "$artifact")
  verdict="ok"
  for marker in "${MARKERS[@]}"; do
    if grep -aqF "$marker" "$artifact"; then
      verdict="FAIL: carries local-only code ($marker)"
    fi
  done
  if (( size >= LIMIT )); then
    verdict="FAIL: ${size} bytes, the limit is ${LIMIT}"
  fi
  [[ "$verdict" == ok ]] || failed=1
  awk -v b="$bin" -v s="$size" -v v="$verdict" 'BEGIN { printf "%-24s %6.2f MB  %s\n", b, s / 1e6, v }'
done
exit "$failed"
