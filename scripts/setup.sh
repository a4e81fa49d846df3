#!/usr/bin/env bash
# Set tapegrad up on a fresh Debian machine with Python 3.10+ (run as root, or with sudo).
#   bash scripts/setup.sh        Graphviz, a virtual environment in .venv, the package
#   bash scripts/setup.sh notebooks   the same, plus JupyterLab, jupytext and what the
#                                notebooks use: then `.venv/bin/jupyter lab notebooks/`
#   bash scripts/setup.sh test   the same as notebooks, plus the test tools: PyTorch 2.13.0
#                                (CPU) for parity tests, Chromium and playwright for the
#                                browser test, nbclient to run the notebooks
# It is safe to run again: what is already there is kept.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-}"
case "$mode" in
    ""|test|notebooks) ;;
    *) echo "usage: bash scripts/setup.sh [notebooks|test]" >&2; exit 2 ;;
esac

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

debian=(graphviz)
[ "$mode" = test ] && debian+=(chromium)
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
if [ "$mode" = test ]; then
    .venv/bin/pip install -q -e ".[test]"
    # The CPU build of PyTorch, for parity tests only: never a runtime dependency.
    .venv/bin/pip install -q torch==2.13.0
elif [ "$mode" = notebooks ]; then
    .venv/bin/pip install -q -e ".[notebooks]"
else
    .venv/bin/pip install -q -e .
fi
if [ -n "$mode" ]; then
    # JupyterLab opens notebooks/*.py as notebooks (jupytext) on a double click; the setting
    # lives in this environment (.venv/etc/jupyter), not in your home folder.
    .venv/bin/jupytext-config --settings-file .venv/etc/jupyter/labconfig/default_setting_overrides.json \
        set-default-viewer python
fi
