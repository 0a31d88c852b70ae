#!/usr/bin/env bash
# PostgreSQL and Redis of a local production-like run (make prod), on 127.0.0.1 only. Unlike
# the test services their data is kept between runs, in PROD_STATE (default var/prod-services).
#   scripts/prod-services.sh start   -> prints `export DATABASE_URL=... REDIS_URL=...`
#   scripts/prod-services.sh stop
# Ports: PROD_PG_PORT (default 55442) and PROD_REDIS_PORT (default 56389).
# Needs PostgreSQL and Redis installed (Debian: apt-get install postgresql redis-server).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${PROD_STATE:-$ROOT/var/prod-services}
PG_PORT=${PROD_PG_PORT:-55442}
REDIS_PORT=${PROD_REDIS_PORT:-56389}
log() { echo "[prod-services] $*" >&2; }

# PostgreSQL refuses to run as root: run it as the postgres user the package creates.
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

# As root, PostgreSQL runs as the postgres user, which may not be able to enter the clone (under
# /root, say): its data then lives under the postgres user's home, one folder per PROD_STATE.
pg_data_dir() {
  if [ -n "${PROD_PG_DATA:-}" ]; then
    echo "$PROD_PG_DATA"
  elif [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$STATE" 2>/dev/null; then
    echo "/var/lib/postgresql/testmanager-prod-$(echo "$STATE" | sha1sum | cut -c1-12)"
  else
    echo "$STATE/pg"
  fi
}

start_postgres() {
  local bindir data
  bindir=$(pg_bindir) || { log "PostgreSQL is not installed (apt-get install postgresql), or set DATABASE_URL"; exit 1; }
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home /var/lib/postgresql postgres
  fi
  data=$(pg_data_dir)
  if [ "$(id -u)" = 0 ]; then
    mkdir -p "$data"
    chown postgres "$data"
  else
    mkdir -p "$data"
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    as_postgres "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >"$STATE/initdb.log" 2>&1 \
      || { log "PostgreSQL's initdb failed in $data: $(tail -n 5 "$STATE/initdb.log")"; exit 1; }
  fi
  as_postgres "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $PG_PORT -k $data" start >/dev/null 2>&1 \
    || { log "PostgreSQL did not start on 127.0.0.1:$PG_PORT: $(tail -n 5 "$data/server.log" 2>/dev/null)"; exit 1; }
  echo "$bindir" > "$STATE/pg.bindir"
  if [ -z "$(as_postgres "$bindir/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = 'testmanager'")" ]; then
    as_postgres "$bindir/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres testmanager
  fi
  log "PostgreSQL on 127.0.0.1:$PG_PORT (data in $data)"
}

start_redis() {
  command -v redis-server >/dev/null || { log "Redis is not installed (apt-get install redis-server), or set REDIS_URL"; exit 1; }
  mkdir -p "$STATE/redis"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --save 60 1 --appendonly no \
    --dir "$STATE/redis" --pidfile "$STATE/redis/redis.pid" --logfile "$STATE/redis/redis.log"
  for _ in $(seq 1 100); do
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  redis-cli -p "$REDIS_PORT" ping >/dev/null || { log "Redis did not start, see $STATE/redis/redis.log"; exit 1; }
  log "Redis on 127.0.0.1:$REDIS_PORT"
}

case "${1:-}" in
  start)
    mkdir -p "$STATE"
    start_postgres
    start_redis
    echo "export DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/testmanager REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
    ;;
  stop)
    if [ -f "$STATE/pg.bindir" ]; then
      as_postgres "$(cat "$STATE/pg.bindir")/pg_ctl" -D "$(pg_data_dir)" -m fast stop >/dev/null 2>&1 || true
      rm -f "$STATE/pg.bindir"
    fi
    if [ -f "$STATE/redis/redis.pid" ]; then
      redis-cli -p "$REDIS_PORT" shutdown save >/dev/null 2>&1 || kill "$(cat "$STATE/redis/redis.pid")" 2>/dev/null || true
      rm -f "$STATE/redis/redis.pid"
    fi
    log "stopped"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
