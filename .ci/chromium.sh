#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the browser tests (Playwright drives
# /usr/bin/chromium through `executable_path`; no browser is ever downloaded).
#
#   bash .ci/chromium.sh
#
# Installs Debian's `chromium` package when /usr/bin/chromium is missing (as root; otherwise says
# the command to run). Called by `make test` before pytest and by tests/web/conftest.py.
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "chromium: not installed; run: sudo apt-get install chromium" >&2
    exit 1
fi
echo "chromium: installing Debian's chromium package" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
