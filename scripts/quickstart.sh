#!/usr/bin/env bash
# Installs Verifily into .venv and retrains on the bundled iris example, printing the decision.
# Exits with the retrain's own code (0 SHIP, 1 DONT_SHIP, 3 INVESTIGATE, 65/69/70 errors), so a
# script or CI step that runs it sees the outcome.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh
set +e
.venv/bin/verifily retrain --dataset examples/iris/artifact --out runs --project iris "$@"
rc=$?
set -e
echo "(exit code $rc: 0 SHIP, 1 DONT_SHIP, 3 INVESTIGATE; the run is in the UI: .venv/bin/verifily ui)"
exit "$rc"
