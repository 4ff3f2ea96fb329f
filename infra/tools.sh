#!/usr/bin/env bash
# Installs the pinned Python tools the project uses, each into its own venv, when missing.
#   infra/tools.sh local   .venv      moto server, boto3, cfn-lint, cargo-lambda
#   infra/tools.sh sam     .venv-sam  AWS SAM CLI
#   infra/tools.sh checkov .venv-checkov  checkov (template policy scan)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

ensure() {
  local venv="$ROOT/$1" requirements="$ROOT/infra/$2" probe="$3"
  if [[ -x "$venv/bin/$probe" ]] && cmp -s "$requirements" "$venv/.requirements"; then
    return
  fi
  echo "[tools] installing $2 into $1 (once)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$venv/.requirements"
}

case "${1:-}" in
  local) ensure .venv requirements-local.txt moto_server ;;
  sam) ensure .venv-sam requirements-sam.txt sam ;;
  checkov) ensure .venv-checkov requirements-checkov.txt checkov ;;
  *) echo "usage: infra/tools.sh local|sam|checkov" >&2; exit 2 ;;
esac
