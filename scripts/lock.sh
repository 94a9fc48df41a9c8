#!/usr/bin/env bash
# Regenerate the locks from pyproject.toml, exact versions with hashes:
#   requirements.txt      the runtime (dependencies + the "build" group: setuptools for the editable install)
#   requirements-dev.txt  the "dev" group's additions, constrained by requirements.txt (so both install together)
# Versions already in a lock are kept while pyproject.toml allows them; pass --upgrade, or
# --upgrade-package NAME, to move to newer releases. Runs uv from .venv (a dev tool; UV=... for another).
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-.venv/bin/uv}
if ! [ -x "$UV" ] && ! command -v "$UV" >/dev/null 2>&1; then
  scripts/bootstrap.sh --dev
fi
export UV_CUSTOM_COMPILE_COMMAND="scripts/lock.sh"
common=(--python-version 3.11 --generate-hashes --quiet "$@")
"$UV" pip compile pyproject.toml --group pyproject.toml:build "${common[@]}" -o requirements.txt
# The dev lock lists only what requirements.txt lacks: a package of both is pinned there alone.
no_emit=()
for name in $(sed -nE 's/^([A-Za-z0-9._-]+)==.*/\1/p' requirements.txt); do
  no_emit+=(--no-emit-package "$name")
done
"$UV" pip compile --group pyproject.toml:dev -c requirements.txt "${common[@]}" "${no_emit[@]}" \
  -o requirements-dev.txt
