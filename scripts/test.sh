#!/usr/bin/env bash
# Install PMO Pulse with its test tools into .venv and run the whole test suite (unit, AppTest, browser).
# Browser tests drive Debian's Chromium; chart and deck exports need CJK fonts: both come from apt.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! [ -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-cjk poppler-utils >/dev/null
fi
python3 -m venv .venv
.venv/bin/pip install --disable-pip-version-check -q -r requirements-dev.txt
exec .venv/bin/python -m pytest "$@"
