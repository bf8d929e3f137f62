#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for tests and benchmarks, on a free loopback port.
#
#   scripts/postgres.sh start DIR [OWNER_PID]   initdb into DIR, start, create database `asgard`,
#                                               print postgres://asgard@127.0.0.1:PORT/asgard
#   scripts/postgres.sh stop DIR                stop the server and remove DIR
#
# Trust authentication on 127.0.0.1 only, fsync off (the data is thrown away; POSTGRES_DURABLE=1
# keeps PostgreSQL's durable defaults, for benchmarks), C collation (the SQLite store's byte order). With OWNER_PID, a watchdog stops the server and removes DIR once that
# process is gone, so a test run that crashes leaves nothing running. Run as root, the server runs
# as the `postgres` user, so DIR's parents must be traversable by it (/tmp is).
set -euo pipefail

command=${1:-}
dir=${2:-}
[ -n "$command" ] && [ -n "$dir" ] || { echo "usage: $0 start DIR [OWNER_PID] | stop DIR" >&2; exit 2; }

bin=""
for candidate in /usr/lib/postgresql/15/bin "$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent)")"; do
    [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ] && { bin=$candidate; break; }
done
[ -n "$bin" ] || { echo "postgres.sh: PostgreSQL 15 is not installed (Debian: apt-get install postgresql)" >&2; exit 1; }

# Runs a command as the server's owner: `postgres` when we are root, else ourselves.
as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$command" in
start)
    owner=${3:-}
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    chmod 0700 "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U asgard --auth=trust --no-locale -E UTF8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    [ "${POSTGRES_DURABLE:-}" = 1 ] && durability=""
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-h 127.0.0.1 -p $port -k $dir $durability -c max_connections=300" \
        start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U asgard asgard
    echo "$port" >"$dir/port"
    if [ -n "$owner" ]; then
        # The watchdog holds no descriptor of its caller's, so a caller reading our output is not kept waiting.
        nohup bash -c "while kill -0 $owner 2>/dev/null; do sleep 1; done; '$0' stop '$dir'" </dev/null >/dev/null 2>&1 &
    fi
    echo "postgres://asgard@127.0.0.1:$port/asgard"
    ;;
stop)
    if [ -d "$dir/data" ]; then as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start DIR [OWNER_PID] | stop DIR" >&2
    exit 2
    ;;
esac
