#!/usr/bin/env bash
# Set-up shared by start.sh and test.sh: the virtual environment with the pinned requirements,
# and the offline Leaflet assets. Cheap when nothing changed (a stamp of requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat .venv/.requirements.sha 2>/dev/null || true)" != "$want" ]; then
  echo "==> installing pinned requirements"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
  echo "$want" > .venv/.requirements.sha
fi
.venv/bin/python -m emergency.assets >/dev/null
