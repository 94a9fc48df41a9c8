#!/usr/bin/env bash
# Run every test: unit tests, AppTest page tests and the browser tests (Debian chromium).
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
exec .venv/bin/python -m pytest -q "$@"
