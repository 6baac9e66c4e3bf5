#!/usr/bin/env bash
# Install Debian's Chromium when /usr/bin/chromium is missing (as root), for the tests that open
# pages in a real browser (Playwright drives it: PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1, no download).
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "chromium: not installed; run: sudo apt-get install chromium" >&2
    exit 1
fi
echo "chromium: installing Debian's chromium package" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
test -x /usr/bin/chromium
