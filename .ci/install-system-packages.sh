#!/usr/bin/env bash
# System packages for the interoperability tests (tests/interop): XML-RPC clients nobody here
# wrote -- Perl RPC::XML (over LWP with HTTPS) and Ruby's xmlrpc gem. Debian/Ubuntu only.
# Safe to re-run: does nothing when every package is already installed.
set -euo pipefail

PACKAGES=(
    librpc-xml-perl             # Perl RPC::XML client (RPC::XML::Client)
    liblwp-protocol-https-perl  # https:// for LWP, which RPC::XML::Client uses
    ruby                        # Ruby interpreter
    ruby-xmlrpc                 # Ruby's xmlrpc library (left the stdlib in Ruby 2.4)
)

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
    SUDO=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
