#!/usr/bin/env bash
# Core benchmark (issue 2): build benchmarks/.venv-core with Luigi and xrsched, then run
# benchmarks/core.py there. Luigi lives only in this virtualenv, never in xrsched's own.
#
#   benchmarks/run_core.sh                 # full run, table on stdout (about 10 minutes)
#   benchmarks/run_core.sh --write         # ... and into benchmarks/README.md
#   benchmarks/run_core.sh --quick         # smoke test (seconds)
#
# PYTHON=python3.11 picks the interpreter; LUIGI_SPEC pins Luigi (default: luigi 3.8.x).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
venv="$here/.venv-core"
python="${PYTHON:-python3}"
luigi_spec="${LUIGI_SPEC:-luigi>=3.8,<3.9}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$luigi_spec" -e "$repo"
exec "$venv/bin/python" "$here/core.py" "$@"
