#!/usr/bin/env bash
# Install xrsched and everything its tests need, from scratch, into ./.venv:
#   - Debian packages for the interoperability tests (Perl RPC::XML, Ruby xmlrpc), when
#     apt-get is available and we are root (CI is; elsewhere run with sudo or skip them);
#   - a fresh virtual environment with xrsched (editable) and its test extras.
# Used by README.rst's first set-up command and by .ci/run, so both stay the same.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -x .ci/install-system-packages.sh ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        .ci/install-system-packages.sh
    else
        echo "install.sh: not root or no apt-get: skipping the Perl/Ruby interop clients" \
             "(their tests will fail until .ci/install-system-packages.sh runs as root)" >&2
    fi
fi

rm -rf .venv
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
echo "installed into $(pwd)/.venv"
