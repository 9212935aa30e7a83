#!/usr/bin/env bash
# Durability benchmark: add_task calls/s of xrsched durable / in-memory vs luigid, and the
# restart time of xrsched-server with 1,000,000 stored tasks.
#
# Luigi is never a dependency of xrsched: it lives only in benchmarks/.venv-durability, made
# here with python3 -m venv, together with requests (so luigi's RemoteScheduler keeps its
# HTTP connection alive) and an editable install of this repo. Every argument is passed on
# to durability.py (e.g. --write, --quick, --only durable,memory, --restart-tasks 0, --against DIR,
# --floor: the durable path taken apart, issue 19).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
venv="$here/.venv-durability"
python="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import luigi, requests, xrsched" 2>/dev/null; then
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet luigi requests
    "$venv/bin/pip" install --quiet -e "$repo"
fi

exec "$venv/bin/python" "$here/durability.py" "$@"
