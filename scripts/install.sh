#!/usr/bin/env bash
# Install xrsched from scratch into ./.venv: a fresh virtual environment with xrsched
# (editable) and its test extras (Python packages only). The system packages that only the
# tests need are installed by scripts/test.sh, so starting the server waits for none of them.
# Used by README.rst's first set-up command and by .ci/run, so both stay the same.
set -euo pipefail
cd "$(dirname "$0")/.."

rm -rf .venv
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
echo "installed into $(pwd)/.venv"
