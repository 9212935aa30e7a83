#!/usr/bin/env bash
# The test command (README.rst, .ci/run): install the system packages only the tests need
# (scripts/install-test-packages.sh: interop clients, ...), then run the whole suite with the
# virtual environment scripts/install.sh made. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    echo "test.sh: no .venv here: run scripts/install.sh first" >&2
    exit 2
fi
scripts/install-test-packages.sh
exec .venv/bin/python -m pytest "$@"
