#!/usr/bin/env bash
# Runs a command with DATABASE_URL pointing at a PostgreSQL server:
# DATABASE_URL if set, else 127.0.0.1:5432 (user postgres, trust), else a throw-away cluster
# started here from the machine's PostgreSQL binaries (removed again on exit).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${DATABASE_URL:-}" ]; then
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || \
     (command -v psql >/dev/null && psql -h 127.0.0.1 -U postgres -Atc 'select 1' postgres >/dev/null 2>&1); then
    export DATABASE_URL="postgres://postgres@127.0.0.1:5432/workflows"
  else
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
      echo "No PostgreSQL: set DATABASE_URL, start one on 127.0.0.1:5432, or install postgresql." >&2
      exit 2
    fi
    datadir=$(mktemp -d /tmp/workflows-pg.XXXXXX)
    port=54329
    runas=()
    if [ "$(id -u)" = 0 ]; then chown postgres "$datadir"; runas=(runuser -u postgres --); fi
    echo "Starting a throw-away PostgreSQL cluster in $datadir on port $port" >&2
    "${runas[@]}" "$bindir/initdb" -D "$datadir" -U postgres -A trust >/dev/null
    "${runas[@]}" "$bindir/pg_ctl" -D "$datadir" -o "-p $port -k $datadir -c listen_addresses=127.0.0.1" -w start >/dev/null
    trap '"${runas[@]}" "$bindir/pg_ctl" -D "$datadir" -m fast stop >/dev/null; rm -rf "$datadir"' EXIT
    export DATABASE_URL="postgres://postgres@127.0.0.1:$port/workflows"
  fi
fi
"$@"
