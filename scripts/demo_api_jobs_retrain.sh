#!/usr/bin/env bash
# The jobs API in one command: starts `verifily serve` and `dagster-daemon` on loopback with a
# fresh API key and data root, runs a sync retrain and a queued one with curl against the
# bundled iris example, polls the queued job to its result, prints every response, and stops
# everything it started (also on Ctrl-C or SIGTERM).
#
#   bash scripts/demo_api_jobs_retrain.sh            # KEEP=1 keeps the work directory
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x .venv/bin/verifily ]] || bash scripts/venv.sh
command -v curl >/dev/null || { echo "demo: needs curl (bash scripts/system-deps.sh)" >&2; exit 69; }
PY=.venv/bin/python

work=$(mktemp -d "${TMPDIR:-/tmp}/verifily-demo.XXXXXX")
echo "demo: work directory $work"
export DAGSTER_HOME="$work/dagster" VERIFILY_STATE_DIR="$work/state"
export VERIFILY_DATA_ROOTS="$work/data" VERIFILY_JOBS_DB_URL="sqlite:///$work/jobs.db"
export VERIFILY_API_KEY
VERIFILY_API_KEY=$($PY -c 'import secrets; print(secrets.token_hex(24))')
mkdir -p "$DAGSTER_HOME" "$VERIFILY_DATA_ROOTS"
cp -r examples/iris/artifact "$VERIFILY_DATA_ROOTS/iris"
# Sensors in threads (queued jobs start within a second), the run queue, run monitoring.
cp config/dagster-api.yaml "$DAGSTER_HOME/dagster.yaml"
port=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"

pids=()
stop() {
  trap - EXIT INT TERM
  local code=${1:-$?}
  if ((${#pids[@]})); then
    echo "demo: stopping ${pids[*]} and what they started"
    # Each server is the leader of its own process group (set -m below): the group holds its
    # code servers and run workers too.
    for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    for _ in $(seq 40); do
      local up=0
      for pid in "${pids[@]}"; do kill -0 -- "-$pid" 2>/dev/null && up=1; done
      ((up)) || break
      sleep 0.25
    done
    for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  fi
  if [[ "${KEEP:-0}" == 1 ]]; then echo "demo: kept $work"; else rm -rf "$work"; fi
  exit "$code"
}
trap 'stop' EXIT
trap 'stop 130' INT
trap 'stop 143' TERM

set -m  # every background job in its own process group
.venv/bin/dagster-daemon run -w workspace.yaml >"$work/daemon.log" 2>&1 &
pids+=($!)
.venv/bin/verifily serve --port "$port" >"$work/api.log" 2>&1 &
pids+=($!)
set +m
echo "demo: dagster-daemon (pid ${pids[0]}) and verifily serve (pid ${pids[1]}) at $url"

for _ in $(seq 240); do
  curl -fs "$url/health" >/dev/null 2>&1 && break
  kill -0 "${pids[1]}" 2>/dev/null || { cat "$work/api.log" >&2; exit 70; }
  sleep 0.5
done

call() {  # method path [json body]: print and keep the response
  local method=$1 path=$2 body=${3:-}
  echo
  echo "\$ curl -X $method $path ${body:+-d '$body'}"
  response=$(curl -sS -X "$method" "$url$path" -H "X-API-Key: $VERIFILY_API_KEY" \
    -H "Content-Type: application/json" ${body:+-d "$body"} -w '\n%{http_code}')
  status=${response##*$'\n'}
  response=${response%$'\n'*}
  echo "HTTP $status"
  echo "$response" | $PY -m json.tool
  [[ $status == 2* ]] || exit 1
}
field() { echo "$response" | $PY -c "import json, sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }

echo
echo "== 1. sync retrain: runs now, answers with the decision"
call POST /v1/retrain '{"dataset_dir": "iris", "project_id": "iris-sync", "seed": 7}'

echo
echo "== 2. queued retrain: answered at once; the daemon's api_jobs sensor starts its run"
call POST /v1/jobs/retrain '{"dataset_dir": "iris", "project_id": "iris", "seed": 7}'
job_id=$(field job_id)

echo
echo "== 3. poll job $job_id until it is done"
last=""
for _ in $(seq 600); do
  response=$(curl -sS "$url/v1/jobs/$job_id" -H "X-API-Key: $VERIFILY_API_KEY")
  state=$(field status)
  if [[ $state != "$last" ]]; then
    echo "$(date +%T) $state (dagster run $(field dagster_run_id))"
    last=$state
  fi
  [[ $state == SUCCEEDED || $state == FAILED || $state == CANCELED ]] && break
  sleep 0.5
done
call GET "/v1/jobs/$job_id"
[[ $(field status) == SUCCEEDED ]] || exit 1

echo
echo "== 4. the queued job's result and its record"
call GET "/v1/jobs/$job_id/result"
call GET "/retraining/jobs/$job_id"
echo
echo "demo: done"
