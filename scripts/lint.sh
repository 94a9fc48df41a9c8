#!/usr/bin/env bash
# Static checks configured in pyproject.toml: ruff (lint and format) and mypy (emergency/).
# Runs all three and exits non-zero if any of them finds something. Needs the dev tools:
# scripts/bootstrap.sh --dev (or ./test.sh) installs them. .ci/run runs it before the tests.
# One line per finding; RUFF_OUTPUT_FORMAT=full shows ruff's context and the formatter's diffs.
# Arguments (files or folders) go to both ruff commands.
set -uo pipefail
cd "$(dirname "$0")/.."
export RUFF_OUTPUT_FORMAT=${RUFF_OUTPUT_FORMAT:-concise}
scripts/bootstrap.sh --dev || exit 1
status=0
echo "==> ruff check"
.venv/bin/ruff check "$@" || status=1
echo "==> ruff format --check"
.venv/bin/ruff format --check "$@" || status=1
echo "==> mypy"
.venv/bin/mypy || status=1
exit $status
