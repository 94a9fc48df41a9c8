#!/usr/bin/env bash
# Start the app at http://localhost:8501 on the embedded database data/emergency.duckdb
# (created and filled with demo data on first start). EMERGENCY_DB chooses another file; a file marked
# real by `python -m emergency init` is never filled with demo data (README: "Running for real").
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
exec .venv/bin/python -m streamlit run server.py --server.port "${PORT:-8501}" "$@"
