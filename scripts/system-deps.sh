#!/usr/bin/env bash
# Installs the Debian packages listed in scripts/apt-packages.txt that are missing, plus
# python3-venv where the interpreter cannot create virtual environments. Needs root (or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
want=()
python3 -c "import ensurepip, venv" 2>/dev/null || want+=(python3-venv)
while read -r pkg _; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || want+=("$pkg")
done < scripts/apt-packages.txt
[[ ${#want[@]} -eq 0 ]] && exit 0
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "system-deps: need root to install: ${want[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "system-deps: installing ${want[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
