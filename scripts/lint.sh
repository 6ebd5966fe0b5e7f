#!/usr/bin/env bash
# The lint step: ruff (lint and format), import-linter (the layering contracts in pyproject.toml)
# and pyright (basic mode over the product packages). Expects .venv with the dev extra.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports
.venv/bin/pyright
