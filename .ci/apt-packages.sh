#!/usr/bin/env bash
# Install the Debian programs the tests use, when missing: espeak-ng speaks the sentences the
# speech-to-text tests transcribe. `make test` (and so CI) runs it before pytest; as root (CI,
# the developers' machines) it runs apt-get, otherwise it says the command to run.
set -euo pipefail

PACKAGES=(espeak-ng)
COMMANDS=(espeak-ng)

missing=()
for i in "${!PACKAGES[@]}"; do
    if ! command -v "${COMMANDS[$i]}" >/dev/null 2>&1; then
        missing+=("${PACKAGES[$i]}")
    fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "apt-packages: missing ${missing[*]}; run: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi
echo "apt-packages: installing Debian's ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for i in "${!PACKAGES[@]}"; do
    command -v "${COMMANDS[$i]}" >/dev/null 2>&1 \
        || { echo "apt-packages: ${PACKAGES[$i]} installed no ${COMMANDS[$i]}" >&2; exit 1; }
done
