#!/usr/bin/env bash
# Creates .venv (if needed) and installs the package into it; extra args are pip extras, e.g. dev.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
[[ -x .venv/bin/python ]] || python3 -m venv .venv
spec="."
[[ $# -gt 0 ]] && spec=".[$1]"
.venv/bin/pip install -q --disable-pip-version-check -e "$spec"
