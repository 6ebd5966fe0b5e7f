#!/usr/bin/env bash
# Installs Verifily with its dev extra (and the Debian packages the e2e tests need) into .venv
# and runs the whole test suite, slow and e2e tests included, on two workers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh dev
exec .venv/bin/python -m pytest -n 2 "$@"
