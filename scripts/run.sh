#!/usr/bin/env bash
# Install PMO Pulse into .venv and start it. First start on an empty database loads the demo projects.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --disable-pip-version-check -q -r requirements.txt
exec .venv/bin/streamlit run app.py "$@"
