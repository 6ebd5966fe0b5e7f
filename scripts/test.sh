#!/usr/bin/env bash
# Installs Verifily with its dev extra (and the Debian packages the e2e tests need) into .venv,
# runs the lint step (ruff, import-linter, pyright), then the whole test suite, slow and e2e
# tests included, on two workers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh dev
bash scripts/lint.sh
exec .venv/bin/python -m pytest -n 2 --dist worksteal "$@"
