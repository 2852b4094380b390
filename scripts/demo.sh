#!/usr/bin/env bash
# Set up .venv and run gongpei with demo data on the embedded defaults (SQLite under ./var/, no Redis).
#
#   ./scripts/demo.sh [--port 8000] [--gazetteer DIR]
#
# Prints the demo operator, two carriers with fresh API keys and a curl line to try, then serves the API
# at http://127.0.0.1:8000 (OpenAPI at /docs). Ctrl-C stops it; data stays in ./var/gongpei.db.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv" >&2
  "$PYTHON" -m venv .venv
fi
echo "== installing gongpei into .venv" >&2
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .

exec .venv/bin/gongpei demo "$@"
