#!/usr/bin/env bash
# Run every test: unit tests, AppTest page tests and the browser tests (Debian chromium).
# Set-up with the development tools (pytest, playwright, ...); start.sh installs the runtime only.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh --dev
# Two workers, one test file each at a time (module fixtures stay whole): most tests wait on local
# servers and the browser, so two workers on two cores take about half the time of one.
exec .venv/bin/python -m pytest -q -n 2 --dist loadfile "$@"
