#!/usr/bin/env bash
# Production-like run (make prod): gunicorn, a Celery worker with beat, PostgreSQL and Redis.
#   scripts/prod.sh           everything in the foreground until Ctrl-C; starts a local PostgreSQL
#                             and Redis (scripts/prod-services.sh) unless DATABASE_URL and REDIS_URL
#                             are given, runs `prepare`, then `web` and `worker` side by side
#   scripts/prod.sh prepare   deploy check, migrate, collectstatic
#   scripts/prod.sh web       gunicorn: WEB_WORKERS (default 4) processes on BIND (127.0.0.1:8000)
#   scripts/prod.sh worker    Celery worker with the beat scheduler (BEAT_SCHEDULE file)
# PYTHON defaults to the project's virtualenv.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
# Each gunicorn worker and Celery child keeps its database connection (settings: DATABASE_CONN_MAX_AGE),
# checked before reuse, instead of paying ~7 ms to connect on every request.
export DATABASE_CONN_MAX_AGE=${DATABASE_CONN_MAX_AGE:-600} DATABASE_CONN_HEALTH_CHECKS=${DATABASE_CONN_HEALTH_CHECKS:-true}
log() { echo "[prod] $*" >&2; }

prepare() {
  "$PYTHON" manage.py check --deploy
  "$PYTHON" manage.py migrate --noinput
  "$PYTHON" manage.py collectstatic --noinput --verbosity 0
}

web() {
  # --preload: the app is loaded once, before listening; no control socket: its default path is
  # per user, so two stacks of one user would fight over it. Each worker draws its connections from
  # its own pool (DATABASE_POOL; the Celery worker keeps its connections instead).
  DATABASE_POOL=${DATABASE_POOL:-true} exec "$PYTHON" -m gunicorn testmanager.wsgi --workers "${WEB_WORKERS:-4}" --bind "${BIND:-127.0.0.1:8000}" \
    --preload --no-control-socket --access-logfile - --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}"
}

worker() {
  mkdir -p var
  exec "$PYTHON" -m celery -A testmanager worker --beat --loglevel INFO \
    --schedule "${BEAT_SCHEDULE:-$ROOT/var/celerybeat-schedule}"
}

everything() {
  if [ -z "${DATABASE_URL:-}" ] || [ -z "${REDIS_URL:-}" ]; then
    local given_database=${DATABASE_URL:-} given_redis=${REDIS_URL:-}
    trap 'scripts/prod-services.sh stop' EXIT
    services=$(scripts/prod-services.sh start)  # a service that cannot start stops make prod here
    eval "$services"
    export DATABASE_URL=${given_database:-$DATABASE_URL} REDIS_URL=${given_redis:-$REDIS_URL}
  fi
  prepare
  "$0" web & local web_pid=$!
  "$0" worker & local worker_pid=$!
  # Ctrl-C reaches both through the terminal; TERM (or one of them ending) stops the other.
  trap 'kill -TERM "$web_pid" "$worker_pid" 2>/dev/null || true' INT TERM
  log "serving on http://${BIND:-127.0.0.1:8000}/  (health: /healthz)  Ctrl-C stops everything"
  wait -n "$web_pid" "$worker_pid" || true
  kill -TERM "$web_pid" "$worker_pid" 2>/dev/null || true
  wait "$web_pid" "$worker_pid" || true
  log "stopped"
}

case "${1:-all}" in
  all) everything ;;
  prepare) prepare ;;
  web) web ;;
  worker) worker ;;
  *) echo "usage: $0 [all|prepare|web|worker]" >&2; exit 2 ;;
esac
