#!/usr/bin/env bash
# System packages the tests need: Chromium for the browser tests (Playwright drives the
# system browser; it never downloads its own). Installed with apt-get when run as root.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "make: error: missing system packages: ${missing[*]} (install them with: sudo apt-get install ${missing[*]})" >&2
    exit 1
fi
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
