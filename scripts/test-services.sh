#!/usr/bin/env bash
# Start (installing when missing) the real servers the test suite needs, on 127.0.0.1 only:
# PostgreSQL and Redis in throwaway data directories, a throwaway Redmine (Debian's package, SQLite,
# WEBrick) with the REST API on and an admin API key, plus Debian's Chromium for the browser tests.
# `stop` stops exactly what `start` started and removes its data.
#   scripts/test-services.sh start   -> prints `export DATABASE_URL=... REDIS_URL=... REDMINE_URL=... REDMINE_API_KEY=...`
#   scripts/test-services.sh stop
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE="$ROOT/var/test-services"
PG_PORT=${TEST_PG_PORT:-55432}
REDIS_PORT=${TEST_REDIS_PORT:-56379}
REDMINE_PORT=${TEST_REDMINE_PORT:-53000}
REDMINE_HOME=/usr/share/redmine
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

# One apt-get call for everything missing (parallel installs would fight over dpkg's lock).
# Preseeding redmine/current-instances as empty keeps the package from configuring and migrating a
# default instance of its own: ours are made by start_redmine.
ensure_packages() {
  local missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium fonts-liberation)
  pg_bindir >/dev/null || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v curl >/dev/null || missing+=(curl)
  if [ ! -x "$REDMINE_HOME/bin/rails" ] || ! dpkg -s redmine-sqlite >/dev/null 2>&1; then
    echo "redmine redmine/current-instances string" | debconf-set-selections \
      || fail "could not preseed debconf for redmine"
    missing+=(redmine redmine-sqlite)
  fi
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
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
  bindir=$(pg_bindir) || fail "PostgreSQL is not installed"
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

# Redmine (Debian's multi-instance layout): REDMINE_INSTANCE=<name> reads its config/database.yml,
# config/secret_key.txt, files, log and tmp from /var/lib/redmine/<name>, which is a link to a fresh
# folder under /tmp (the clone may sit in a folder nobody else can enter). Loading the default data
# runs in a process of its own, after the migration (in the migrating process it fails on an unknown
# attribute yet exits 0), and prints what is checked; the server boots meanwhile. Any failure stops
# the start with its message and the tail of its log.
# Rails would take a DATABASE_URL of the caller's (the suite's PostgreSQL) over the instance's SQLite.
redmine_env=(env -u DATABASE_URL -C "$REDMINE_HOME" RAILS_ENV=production)

redmine() {
  "${redmine_env[@]}" REDMINE_INSTANCE="$(cat "$STATE/redmine.instance")" "$@"
}

# A Ruby failure's log: its first lines, the lines naming the error (a backtrace can bury them), its end.
excerpt() {
  head -n 4 "$1"; echo "..."
  grep -m 5 -i -E "error|exception|abort|denied|in use" "$1" | grep -v -E "^\s+(from )?/" || true
  echo "..."; tail -n 4 "$1"
}

redmine_step() {
  local name=$1 expect=$2; shift 2
  local log="$STATE/redmine.$name.log"
  redmine "$@" >"$log" 2>&1 || fail "Redmine's $name failed: $(excerpt "$log")"
  grep -q -- "$expect" "$log" || fail "Redmine's $name did not report \"$expect\": $(excerpt "$log")"
}

# The default trackers, statuses, priorities and roles (what `rake redmine:load_default_data
# REDMINE_LANG=en` loads), the REST API switched on, no notification mails (there is no mail server),
# a list custom field "Browser" on every tracker of every project (the REST API cannot make custom
# fields; the custom field tests use it), and an API key (a Token with action `api`) of the admin
# account, in one Rails boot instead of two.
REDMINE_SEED='
Redmine::DefaultData::Loader.load("en")
puts "Default configuration data loaded."
Setting.rest_api_enabled = "1"
Setting.notified_events = []
IssueCustomField.create!(name: "Browser", field_format: "list", possible_values: %w[Firefox Chromium], is_filter: true,
                         is_for_all: true, trackers: Tracker.all)
puts "api-key=#{Token.create!(user: User.find_by!(login: "admin"), action: "api").value}"'

new_redmine_instance() {
  [ -x "$REDMINE_HOME/bin/rails" ] || fail "Redmine is not installed in $REDMINE_HOME"
  [ -w /var/lib/redmine ] || fail "Redmine instances live in /var/lib/redmine, which $(id -un) cannot write"
  grep -qs "gem ['\"]webrick['\"]" "$REDMINE_HOME/Gemfile.local" \
    || echo 'gem "webrick"  # rails server needs a web server; WEBrick comes with Ruby' >>"$REDMINE_HOME/Gemfile.local" \
    || fail "could not add WEBrick to $REDMINE_HOME/Gemfile.local"
  local data name
  data=$(mktemp -d /tmp/testmanager-test-redmine.XXXXXX)
  name=$(basename "$data")
  echo "$data" >"$STATE/redmine.datadir"
  echo "$name" >"$STATE/redmine.instance"
  ln -s "$data" "/var/lib/redmine/$name"
  mkdir -p "$data/config" "$data/db" "$data/files" "$data/log" "$data/tmp"
  printf 'production:\n  adapter: sqlite3\n  database: %s/db/redmine.sqlite3\n  timeout: 10000\n' "$data" \
    >"$data/config/database.yml"
  openssl rand -hex 64 >"$data/config/secret_key.txt"
  # One request at a time: on SQLite two concurrent writes can deadlock ("database is locked", a 500),
  # and the suite's two workers write at once.
  printf 'require "%s/config/environment"\nuse Rack::Lock\nrun Rails.application\n' "$REDMINE_HOME" \
    >"$data/config.ru"
}

redmine_answers() {
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "X-Redmine-API-Key: $2" "$1/users/current.json")" = 200 ]
}

start_redmine() {
  new_redmine_instance
  local data url="http://127.0.0.1:$REDMINE_PORT"
  data=$(cat "$STATE/redmine.datadir")
  redmine_step migrate "migrated" bin/rake db:migrate SCHEMA=/dev/null
  local log="$data/log/server.out"
  # A session of its own (its id is the server's pid): `stop` ends it and anything it started.
  setsid "${redmine_env[@]}" REDMINE_INSTANCE="$(basename "$data")" \
    bin/rails server -c "$data/config.ru" -b 127.0.0.1 -p "$REDMINE_PORT" -P "$data/tmp/server.pid" >"$log" 2>&1 </dev/null &
  echo $! >"$STATE/redmine.pid"
  redmine_step seed "Default configuration data loaded." bin/rails runner "$REDMINE_SEED"
  local key
  key=$(sed -n 's/^api-key=//p' "$STATE/redmine.seed.log")
  rm -f "$STATE/redmine.seed.log"  # it holds the admin key
  [ -n "$key" ] || fail "Redmine's seed printed no API key"
  for _ in $(seq 1 240); do
    redmine_answers "$url" "$key" && break
    kill -0 "$(cat "$STATE/redmine.pid")" 2>/dev/null || fail "Redmine exited on start: $(excerpt "$log")"
    sleep 0.25
  done
  redmine_answers "$url" "$key" \
    || fail "Redmine on $url did not answer /users/current.json with the admin key within 60 s: $(excerpt "$log")"
  (umask 077 && echo "REDMINE_URL=$url REDMINE_API_KEY=$key" >"$STATE/redmine.env")
  log "Redmine on $url (data in $data)"
}

stop_redmine() {
  if [ -f "$STATE/redmine.pid" ]; then
    local pid
    pid=$(cat "$STATE/redmine.pid")
    kill -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 -- "-$pid" 2>/dev/null || true
    rm -f "$STATE/redmine.pid"
  fi
  if [ -f "$STATE/redmine.instance" ]; then
    rm -f "/var/lib/redmine/$(cat "$STATE/redmine.instance")"
    rm -f "$STATE/redmine.instance"
  fi
  if [ -f "$STATE/redmine.datadir" ]; then
    rm -rf "$(cat "$STATE/redmine.datadir")"
    rm -f "$STATE/redmine.datadir"
  fi
  rm -f "$STATE/redmine.env" "$STATE"/redmine.*.log
}

case "${1:-}" in
  start)
    mkdir -p "$STATE"
    ensure_packages
    # Redmine's setup (about 20 s of Ruby) runs while PostgreSQL and Redis start; a failure of either
    # side stops the start with its message, and the setup is not left running behind it.
    setsid bash "$0" _redmine &
    redmine_setup=$!  # a process group of its own: killing it ends its rake or rails child too
    trap 'kill -- "-$redmine_setup" 2>/dev/null || true' EXIT
    start_postgres
    start_redis
    wait "$redmine_setup" || fail "Redmine did not start (its message is above)"
    trap - EXIT
    echo "export DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/testmanager REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0 $(cat "$STATE/redmine.env")"
    ;;
  _redmine)
    start_redmine
    ;;
  stop)
    stop_redmine
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
