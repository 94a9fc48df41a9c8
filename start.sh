#!/usr/bin/env bash
# Start the app at http://localhost:8501 on the embedded database data/emergency.duckdb
# (created and filled with demo data on first start). EMERGENCY_DB chooses another file.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
exec .venv/bin/python -m streamlit run server.py --server.port "${PORT:-8501}" "$@"
