#!/usr/bin/env bash
# Set up .venv and run every check: ruff, mypy, import contracts, then the whole test suite against
# PostgreSQL and Redis. Starts either service when it is down; fails (never skips) when one can't be reached.
# Installs Debian's chromium (the driver page's browser test) when /usr/bin/chromium is missing.
#
#   ./scripts/test.sh [pytest args…]
#
# GONGPEI_TEST_PG_ADMIN_URL  PostgreSQL the tests create their databases in (default: postgres@127.0.0.1:5432)
# GONGPEI_TEST_REDIS_URL     Redis for queue tests (default: redis://127.0.0.1:6379/0)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
export GONGPEI_TEST_PG_ADMIN_URL=${GONGPEI_TEST_PG_ADMIN_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/postgres}
export GONGPEI_TEST_REDIS_URL=${GONGPEI_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PYTHON" -m venv .venv
fi
echo "== installing gongpei and its test tools into .venv"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'

pg_ready() {
  .venv/bin/python - <<'PY'
import os, sys
import psycopg
url = os.environ["GONGPEI_TEST_PG_ADMIN_URL"].replace("postgresql+psycopg://", "postgresql://")
try:
    psycopg.connect(url, connect_timeout=3).close()
except Exception as exc:  # noqa: BLE001
    print(f"   PostgreSQL not reachable: {exc}", file=sys.stderr)
    sys.exit(1)
PY
}

redis_ready() {
  .venv/bin/python - <<'PY'
import os, sys
import redis
try:
    redis.Redis.from_url(os.environ["GONGPEI_TEST_REDIS_URL"], socket_connect_timeout=3).ping()
except Exception as exc:  # noqa: BLE001
    print(f"   Redis not reachable: {exc}", file=sys.stderr)
    sys.exit(1)
PY
}

wait_for() {  # name, check function
  for _ in $(seq 1 30); do
    if "$2" 2>/dev/null; then return 0; fi
    sleep 1
  done
  "$2" || { echo "FAIL: $1 is not reachable; the tests need it and are not skipped" >&2; exit 1; }
}

echo "== checking PostgreSQL"
if ! pg_ready; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "   starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  fi
  wait_for PostgreSQL pg_ready
fi

echo "== checking Redis"
if ! redis_ready; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "   starting Redis"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  fi
  wait_for Redis redis_ready
fi

echo "== checking Chromium (the driver page's browser test)"
if [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "   installing Debian's chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null \
           && apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; } || true
  fi
  if [ ! -x /usr/bin/chromium ]; then
    echo "FAIL: /usr/bin/chromium is missing and could not be installed (apt-get install chromium);" \
      "the driver page's browser test needs it and is not skipped" >&2
    exit 1
  fi
fi

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy (strict)"
.venv/bin/mypy
echo "== import contracts"
.venv/bin/lint-imports

echo "== pytest"
.venv/bin/pytest -n "${GONGPEI_TEST_WORKERS:-2}" "$@"
