#!/usr/bin/env bash
# Dashboard load benchmark: worker get_work latency, idle and with 5 dashboards polling.
#
# Needs nothing beyond xrsched itself: it runs with the repository's .venv (scripts/install.sh).
# Every argument is passed on to dashboard_load.py (e.g. --write, --quick, --store sqlite).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
python="${PYTHON:-$repo/.venv/bin/python}"

exec "$python" "$here/dashboard_load.py" "$@"
