#!/usr/bin/env bash
# End-to-end benchmark: 2,000 trivial tasks, 4 worker processes, xrsched over TLS vs luigid.
#
# Luigi is never a dependency of xrsched: it lives only in benchmarks/.venv-e2e, made here with
# python3 -m venv. This repo is installed there as users install it (a regular install, not an
# editable one, whose import hook costs every interpreter start ~15 ms), afresh on every run so
# the benchmark measures the code as it is now. Every argument is passed on to e2e.py (e.g.
# --write, --only xrsched, --tasks 500, --reps 1).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
venv="$here/.venv-e2e"
python="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
# Luigi talks to its scheduler through `requests` when it can import it (one kept-alive
# connection per process) and falls back to urllib (a new connection, and TLS handshake, per
# call) otherwise; `pip install luigi` does not bring requests, so it is installed here, as the
# README's "Moving from luigid" advises. LUIGI_HTTP=urllib leaves it out, to measure the fallback.
if ! "$venv/bin/python" -c "import luigi, setuptools, wheel, defusedxml, tenacity, cryptography, click" 2>/dev/null; then
    "$venv/bin/pip" install --quiet --upgrade pip setuptools wheel
    "$venv/bin/pip" install --quiet luigi
    "$venv/bin/pip" install --quiet "$repo"  # xrsched's own dependencies
fi
if [[ "${LUIGI_HTTP:-requests}" == urllib ]]; then
    "$venv/bin/pip" uninstall --quiet --yes requests 2>/dev/null || true
elif ! "$venv/bin/python" -c "import requests" 2>/dev/null; then
    "$venv/bin/pip" install --quiet requests
fi
rm -rf "$repo/build"  # setuptools builds in the tree; a stale build/lib could bring back removed modules
"$venv/bin/pip" install --quiet --no-deps --no-build-isolation --force-reinstall "$repo"

exec "$venv/bin/python" "$here/e2e.py" "$@"
