#!/usr/bin/env bash
# Installs Debian's chromium (the report's rendering test opens report.html in it headless).
# Idempotent: does nothing when chromium is already on the PATH.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  as_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get -o DPkg::Lock::Timeout=900 update -q
"${as_root[@]}" apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends chromium
command -v chromium >/dev/null
