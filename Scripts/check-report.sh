#!/usr/bin/env bash
# Renders a tkd report in a real headless browser (Chromium from Debian) and saves a full-page screenshot
# to look at: the SVG figures must draw, nothing may be fetched from the network.
#
#   Scripts/check-report.sh report.html [screenshot.png]     # installs chromium with apt-get if missing
set -euo pipefail
report="$(realpath "${1:?usage: Scripts/check-report.sh REPORT.html [OUT.png]}")"
out="${2:-${report%.html}.png}"
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium
fi
# --virtual-time-budget lets layout finish; a tall window captures the whole page.
chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,3400 \
  --virtual-time-budget=5000 --screenshot="$out" "file://$report" 2>/dev/null
echo "screenshot: $out"
