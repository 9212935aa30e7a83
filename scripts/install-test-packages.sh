#!/usr/bin/env bash
# Debian packages that only the tests need (never the server): run by scripts/test.sh, so a
# user who only wants the server does not wait for a browser or a database to install.
#   - tests/interop: XML-RPC clients nobody here wrote (Perl RPC::XML over LWP with HTTPS,
#     Ruby's xmlrpc gem).
#   - tests/metrics: promtool (Debian's prometheus) checks a real /metrics scrape.
# Add a package next to the tests that use it, with a comment naming them.
# Debian/Ubuntu only; as root, or with sudo. Safe to re-run: does nothing when every package is
# already installed. Elsewhere it says what it skipped and the tests that need them skip or fail
# with a message naming this script.
set -euo pipefail

PACKAGES=(
    librpc-xml-perl             # tests/interop: Perl RPC::XML client (RPC::XML::Client)
    liblwp-protocol-https-perl  # tests/interop: https:// for LWP, which RPC::XML::Client uses
    ruby                        # tests/interop: Ruby interpreter
    ruby-xmlrpc                 # tests/interop: Ruby's xmlrpc library (left the stdlib in Ruby 2.4)
    postgresql                  # tests/pg: throwaway clusters (initdb, pg_ctl) for the PostgreSQL store
    prometheus                  # tests/metrics/test_promtool.py: promtool check metrics on a real scrape
    chromium                    # tests/dashboard, benchmarks/dashboard_graph.py, scripts/screenshots.py: headless browser
    chromium-driver             # tests/dashboard: /usr/bin/chromedriver, which selenium drives (no browser download)
)

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-packages.sh: no dpkg/apt-get here: install these yourself: ${PACKAGES[*]}" >&2
    exit 0
fi

missing=()
for package in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$package")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "install-test-packages.sh: not root and no sudo: skipping ${missing[*]}" >&2
        exit 0
    fi
    SUDO=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
