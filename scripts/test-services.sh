#!/usr/bin/env bash
# Start (installing when missing) the real servers the test suite needs, on 127.0.0.1 only:
# PostgreSQL and Redis in throwaway data directories under var/test-services, plus Debian's
# Chromium for the browser tests. `stop` stops exactly what `start` started.
#   scripts/test-services.sh start   -> prints `export DATABASE_URL=... REDIS_URL=...`
#   scripts/test-services.sh stop
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE="$ROOT/var/test-services"
PG_PORT=${TEST_PG_PORT:-55432}
REDIS_PORT=${TEST_REDIS_PORT:-56379}
log() { echo "[test-services] $*" >&2; }
fail() { echo "[test-services] FAILED: $*" >&2; exit 1; }

apt_install() {
  log "installing $* (apt-get)"
  if [ ! -f "$STATE/.apt-updated" ]; then
    apt-get update -qq >&2
    touch "$STATE/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

pg_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

# PostgreSQL refuses to run as root, so as root it runs as the postgres user, whose data directory
# must be reachable by that user: a fresh one under /tmp, not under the clone (which may sit in a
# folder only root can enter, such as /root). Its path is kept in $STATE/pg.datadir for `stop`.
start_postgres() {
  local bindir data
  bindir=$(pg_bindir) || { apt_install postgresql; bindir=$(pg_bindir) || fail "PostgreSQL did not install"; }
  local as=()
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home /var/lib/postgresql postgres
    data=$(mktemp -d /tmp/testmanager-test-pg.XXXXXX)
    chown postgres "$data"
    as=(runuser -u postgres --)
  else
    data="$STATE/pg"
    rm -rf "$data"; mkdir -p "$data"
  fi
  echo "$data" > "$STATE/pg.datadir"
  echo "$bindir" > "$STATE/pg.bindir"
  "${as[@]}" "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >"$STATE/initdb.log" 2>&1 \
    || fail "PostgreSQL's initdb failed in $data: $(tail -n 5 "$STATE/initdb.log")"
  "${as[@]}" "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $PG_PORT -k $data -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null 2>&1 || fail "PostgreSQL did not start on 127.0.0.1:$PG_PORT: $(tail -n 5 "$data/server.log" 2>/dev/null)"
  log "PostgreSQL on 127.0.0.1:$PG_PORT (data in $data)"
}

start_redis() {
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p "$STATE/redis"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --save '' --appendonly no \
    --dir "$STATE/redis" --pidfile "$STATE/redis/redis.pid" --logfile "$STATE/redis/redis.log"
  for _ in $(seq 1 50); do
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 \
    || fail "Redis did not start on 127.0.0.1:$REDIS_PORT: $(tail -n 5 "$STATE/redis/redis.log" 2>/dev/null)"
  log "Redis on 127.0.0.1:$REDIS_PORT"
}

ensure_chromium() {
  [ -x /usr/bin/chromium ] || apt_install chromium fonts-liberation
}

case "${1:-}" in
  start)
    mkdir -p "$STATE"
    ensure_chromium
    start_postgres
    start_redis
    echo "export DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/testmanager REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
    ;;
  stop)
    if [ -f "$STATE/pg.bindir" ] && [ -f "$STATE/pg.datadir" ]; then
      as=(); [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
      data=$(cat "$STATE/pg.datadir")
      "${as[@]}" "$(cat "$STATE/pg.bindir")/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
      rm -rf "$data"
      rm -f "$STATE/pg.bindir" "$STATE/pg.datadir"
    fi
    if [ -f "$STATE/redis/redis.pid" ]; then
      kill "$(cat "$STATE/redis/redis.pid")" 2>/dev/null || true
      rm -f "$STATE/redis/redis.pid"
    fi
    log "stopped"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
