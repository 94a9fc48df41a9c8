#!/usr/bin/env bash
# Run every test: unit tests, AppTest page tests and the browser tests (Debian chromium).
# Set-up with the development tools (pytest, playwright, ...); start.sh installs the runtime only.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh --dev
exec .venv/bin/python -m pytest -q "$@"
