#!/usr/bin/env bash
# End-to-end benchmark: 2,000 trivial tasks, 4 worker processes, xrsched over TLS vs luigid.
#
# Luigi is never a dependency of xrsched: it lives only in benchmarks/.venv-e2e, made here with
# python3 -m venv, together with an editable install of this repo. Every argument is passed on
# to e2e.py (e.g. --write, --only xrsched, --tasks 500).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
venv="$here/.venv-e2e"
python="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import luigi, xrsched.worker" 2>/dev/null; then
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet luigi
    "$venv/bin/pip" install --quiet -e "$repo"
fi

exec "$venv/bin/python" "$here/e2e.py" "$@"
