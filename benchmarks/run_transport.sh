#!/usr/bin/env bash
# Transport benchmark: xrsched vs luigid vs a bare stdlib XML-RPC/TLS server.
#
# Luigi is never a dependency of xrsched: it lives only in benchmarks/.venv-transport, made
# here with python3 -m venv, together with requests (so luigi's RemoteScheduler keeps its
# HTTP connection alive through a requests.Session) and an editable install of this repo.
# Every argument is passed on to transport.py (e.g. --write, --quick, --only xrsched,bare).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
venv="$here/.venv-transport"
python="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
# Reinstall when the repo's packaging changed (new dependencies), not on every run.
stamp="$venv/.repo-packaging"
want="$(cat "$repo/setup.cfg" "$repo/pyproject.toml" 2>/dev/null | sha256sum | cut -d' ' -f1)"
if ! "$venv/bin/python" -c "import luigi, requests, xrsched" 2>/dev/null \
    || [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet luigi requests
    "$venv/bin/pip" install --quiet -e "$repo"
    echo "$want" > "$stamp"
fi

exec "$venv/bin/python" "$here/transport.py" "$@"
