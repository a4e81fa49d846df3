#!/usr/bin/env bash
# Set tapegrad up on a fresh Debian machine with Python 3.10+ (run as root, or with sudo).
#   bash scripts/setup.sh        Graphviz, a virtual environment in .venv, the package
#   bash scripts/setup.sh test   the same, plus the test tools: PyTorch 2.13.0 (CPU) for
#                                parity tests, Chromium and playwright for the browser test,
#                                Jupyter's kernel and nbclient for the notebooks
# It is safe to run again: what is already there is kept.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

debian=(graphviz)
[ "${1:-}" = test ] && debian+=(chromium)
missing=()
for package in "${debian[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
python3 -m venv --help >/dev/null 2>&1 && python3 -c "import ensurepip" 2>/dev/null || missing+=(python3-venv)
if [ "${#missing[@]}" -gt 0 ]; then
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
if [ "${1:-}" = test ]; then
    .venv/bin/pip install -q -e ".[test]"
    # The CPU build of PyTorch, for parity tests only: never a runtime dependency.
    .venv/bin/pip install -q torch==2.13.0
else
    .venv/bin/pip install -q -e .
fi
