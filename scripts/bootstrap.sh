#!/usr/bin/env bash
# Set-up shared by start.sh and test.sh: the virtual environment .venv with the locked runtime
# (requirements.txt, hash-checked), the package itself installed editable, and the offline Leaflet
# assets. With --dev (test.sh) also the development tools of requirements-dev.txt.
# Cheap when nothing changed: a stamp of the lock files and pyproject.toml for each of the two sets.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
dev=0
case "${1:-}" in
  "") ;;
  --dev) dev=1 ;;
  *) echo "usage: scripts/bootstrap.sh [--dev]" >&2; exit 2 ;;
esac
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
pip_install() {
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "$@"
}
stamp() { cat "$@" | sha256sum | cut -d' ' -f1; }

want=$(stamp requirements.txt pyproject.toml)
if [ "$(cat .venv/.runtime.sha 2>/dev/null || true)" != "$want" ]; then
  echo "==> installing the runtime lock (requirements.txt) and the package (editable)"
  pip_install --require-hashes -r requirements.txt
  # setuptools comes from the lock above: nothing is downloaded to build the editable install.
  pip_install --no-deps --no-build-isolation --editable .
  echo "$want" > .venv/.runtime.sha
fi

if [ "$dev" = 1 ]; then
  want=$(stamp requirements.txt requirements-dev.txt pyproject.toml)
  if [ "$(cat .venv/.dev.sha 2>/dev/null || true)" != "$want" ]; then
    echo "==> installing the development lock (requirements-dev.txt)"
    pip_install --require-hashes -r requirements.txt -r requirements-dev.txt
    echo "$want" > .venv/.dev.sha
  fi
fi
.venv/bin/python -m emergency.assets >/dev/null
