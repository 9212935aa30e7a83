#!/usr/bin/env bash
# Run the ETL example end to end: start an xrsched server in a temporary directory, mint a
# worker token, run `xrsched run ... Load --date DATE --workers 4` against it, stop the server.
#
#   examples/etl/run.sh [DATE]          (default 2026-11-22)
#
# Outputs go to $XRSCHED_ETL_DATA, kept. Without it they go to the run's temporary directory,
# which is removed at exit like the server's state and log (XRSCHED_ETL_KEEP=1 keeps it).
# The exit status is the worker's (0: everything complete).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bin="${XRSCHED_BIN:-$repo/.venv/bin}"
date="${1:-2026-11-22}"
tmp="$(mktemp -d)"
server_pid=""

cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" && wait "$server_pid" || true
    fi
    if [[ -z "${XRSCHED_ETL_KEEP:-}" ]]; then rm -rf "$tmp"; else echo "kept: $tmp" >&2; fi
}
trap cleanup EXIT

# A worker token, minted before the server first starts (it then creates no admin token).
secret="$("$bin/xrsched" token add --id etl-worker --role worker --tokens "$tmp/state/tokens.toml" | tail -n 1)"

"$bin/xrsched-server" --port 0 --state-path "$tmp/state" --log-level WARNING >"$tmp/server.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 1 200); do
    port="$(sed -n 's|.*listening on https://[^:]*:\([0-9]*\)/.*|\1|p' "$tmp/server.log" | head -n 1)"
    [[ -n "$port" ]] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/server.log" >&2; exit 1; }
    sleep 0.1
done
[[ -n "$port" ]] || { echo "the server did not start:" >&2; cat "$tmp/server.log" >&2; exit 1; }

export XRSCHED_TOKEN="$secret"
export XRSCHED_SCHEDULER_URL="https://localhost:$port/RPC2"
export XRSCHED_CA="$tmp/state/tls/server.pem"
export XRSCHED_ETL_DATA="${XRSCHED_ETL_DATA:-$tmp/data}"

cd "$repo"
set +e
"$bin/xrsched" run --module examples.etl.pipeline Load --date "$date" --workers 4
status=$?
set -e
if [[ "$XRSCHED_ETL_DATA" == "$tmp/data" && -z "${XRSCHED_ETL_KEEP:-}" ]]; then
    echo "outputs were in $XRSCHED_ETL_DATA, removed now (set XRSCHED_ETL_DATA=DIR to keep them)"
else
    echo "outputs: $XRSCHED_ETL_DATA (warehouse: $XRSCHED_ETL_DATA/warehouse.sqlite3)"
fi
exit "$status"
