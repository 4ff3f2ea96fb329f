#!/usr/bin/env bash
# The local AWS stand-in (moto server), for tests, the demo and cargo-lambda runs. Local only.
#
#   infra/local-aws.sh install          create .venv with the pinned tools when missing
#   infra/local-aws.sh up               start moto on 127.0.0.1 and provision it (.local/aws.env)
#   infra/local-aws.sh down             stop the moto server this script started
#   infra/local-aws.sh run CMD ARGS...  up, run CMD with the local environment, down (always)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
STATE="$ROOT/.local"
PORT="${LOCAL_AWS_PORT:-4566}"
ENDPOINT="http://127.0.0.1:$PORT"

log() { echo "[local-aws] $*" >&2; }

install() {
  "$ROOT/infra/tools.sh" local
}

base_env() {
  export AWS_ENDPOINT_URL="$ENDPOINT" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
  export AWS_REGION="${AWS_REGION:-us-east-1}" AWS_DEFAULT_REGION="${AWS_REGION:-us-east-1}"
  # moto can still answer 500 now and then when tests write at once. The SDK retries a 500;
  # locally it gets more attempts than AWS's default of 3.
  export AWS_MAX_ATTEMPTS="${AWS_MAX_ATTEMPTS:-8}"
}

up() {
  install
  mkdir -p "$STATE"
  base_env
  if curl -sf "$ENDPOINT/moto-api/" >/dev/null 2>&1; then
    log "a server already answers on $ENDPOINT; reusing it (it will not be stopped)"
  else
    STARTED_HERE=1
    # moto with whole-table copies taken out of its transactions (see infra/moto_local.py).
    "$VENV/bin/python" "$ROOT/infra/moto_local.py" -H 127.0.0.1 -p "$PORT" >"$STATE/moto.log" 2>&1 &
    echo $! >"$STATE/moto.pid"
    for _ in $(seq 1 100); do
      curl -sf "$ENDPOINT/moto-api/" >/dev/null 2>&1 && break
      sleep 0.1
    done
    curl -sf "$ENDPOINT/moto-api/" >/dev/null || { log "moto did not start; see $STATE/moto.log"; exit 1; }
    log "moto server on $ENDPOINT (pid $(cat "$STATE/moto.pid"))"
  fi
  {
    echo "AWS_ENDPOINT_URL=$ENDPOINT"
    echo "AWS_ACCESS_KEY_ID=test"
    echo "AWS_SECRET_ACCESS_KEY=test"
    echo "AWS_REGION=$AWS_REGION"
    echo "AWS_MAX_ATTEMPTS=$AWS_MAX_ATTEMPTS"
    "$VENV/bin/python" "$ROOT/infra/provision_local.py"
  } >"$STATE/aws.env"
  log "provisioned; environment in .local/aws.env"
}

down() {
  trap - EXIT
  if [[ -f "$STATE/moto.pid" ]]; then
    kill "$(cat "$STATE/moto.pid")" 2>/dev/null || true
    rm -f "$STATE/moto.pid"
    log "stopped"
  fi
}

case "${1:-}" in
  install) install ;;
  up) up ;;
  down) down ;;
  run)
    shift
    STARTED_HERE=0
    up
    if [[ "$STARTED_HERE" == 1 ]]; then trap down EXIT; fi
    set -a
    # shellcheck disable=SC1091
    source "$STATE/aws.env"
    set +a
    "$@"
    ;;
  *) sed -n '2,8p' "$0" >&2; exit 2 ;;
esac
