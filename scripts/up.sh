#!/usr/bin/env bash
# `make up`: the production topology on this machine (README "Production topology: make up").
# Production settings; migrations as the owner (DATABASE_URL); then honcho runs the Procfile:
# gunicorn as a member of workflows_app, the relay and the Celery worker as a member of
# workflows_platform. Ctrl-C (or `make down`) stops them all; a process that exits stops the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

export WORKFLOWS_VAR_DIR=${WORKFLOWS_VAR_DIR:-$PWD/var}
var=$WORKFLOWS_VAR_DIR
mkdir -p "$var"
pidfile=$var/up.pid
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null \
    && grep -q honcho "/proc/$(cat "$pidfile")/cmdline" 2>/dev/null; then
  echo "make up is already running (pid $(cat "$pidfile")): make down first" >&2
  exit 1
fi

export DJANGO_SETTINGS_MODULE=config.settings.production
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/workflows_up}
export CELERY_BROKER_URL=${CELERY_BROKER_URL:-amqp://guest:guest@127.0.0.1:5672//}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
export CELERY_QUEUE=${CELERY_QUEUE:-workflows}
export CELERY_NODE=${CELERY_NODE:-$CELERY_QUEUE@%h}
port=${PORT:-8000}
export WEB_BIND=${WEB_BIND:-127.0.0.1:$port}
export DJANGO_ALLOWED_HOSTS=${DJANGO_ALLOWED_HOSTS:-127.0.0.1,localhost}
cores=$(nproc 2>/dev/null || echo 1)
workers=$((2 * cores + 1))
[ "$workers" -le 8 ] || workers=8
export WEB_CONCURRENCY=${WEB_CONCURRENCY:-$workers}  # gunicorn reads it
export CELERY_CONCURRENCY=${CELERY_CONCURRENCY:-$cores}
if [ -z "${DJANGO_SECRET_KEY:-}" ]; then
  # Made once in $var/secret_key (0600) by the same code as the local settings' key.
  DJANGO_SECRET_KEY=$(python -c 'import sys; from pathlib import Path
from config.settings.local import install_secret_key
print(install_secret_key(Path(sys.argv[1])))' "$var/secret_key" 2>/dev/null) \
    || { echo "cannot read or make $var/secret_key (mode 600?)" >&2; exit 1; }
  export DJANGO_SECRET_KEY
fi
# No TLS proxy in front on loopback: plain HTTP when only loopback names are served, unless
# told otherwise (production.py refuses it for any host that is not a loopback name).
if [ -z "${DJANGO_LOOPBACK_HTTP+set}" ]; then
  case $DJANGO_ALLOWED_HOSTS in
    127.0.0.1,localhost | localhost,127.0.0.1 | 127.0.0.1 | localhost) DJANGO_LOOPBACK_HTTP=1 ;;
    *) DJANGO_LOOPBACK_HTTP=0 ;;
  esac
fi
export DJANGO_LOOPBACK_HTTP
if [ "$DJANGO_LOOPBACK_HTTP" = 1 ]; then
  export WORKFLOWS_CONSOLE_URL=${WORKFLOWS_CONSOLE_URL:-http://$WEB_BIND}  # links in emails
  echo "up: DJANGO_LOOPBACK_HTTP=1: plain HTTP, no HTTPS redirect (a loopback trial without a TLS proxy)"
fi

python scripts/up_db.py database
# Once per release, as the database owner (it creates the roles).
python manage.py migrate --noinput
eval "$(python scripts/up_db.py logins "$var")"
export WEB_DATABASE_URL WORKER_DATABASE_URL
DATABASE_URL=$WORKER_DATABASE_URL python manage.py collectstatic --noinput -v 0
if [ "${UP_DEMO:-0}" = 1 ]; then
  DATABASE_URL=$WORKER_DATABASE_URL python manage.py seed_demo
fi

# /metrics: every process writes its samples here, any web worker's scrape sums them (README
# "Metrics"); emptied at each start. Readable from loopback, or with WORKFLOWS_METRICS_TOKEN.
export PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-$var/prometheus}
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
export WORKFLOWS_METRICS_ALLOWED_IPS=${WORKFLOWS_METRICS_ALLOWED_IPS:-127.0.0.1/32,::1/128}

echo "up: http://$WEB_BIND/ ($WEB_CONCURRENCY web workers, $CELERY_CONCURRENCY Celery processes, queue $CELERY_QUEUE); stop with Ctrl-C or make down"
echo $$ >"$pidfile"
# honcho takes this pid (make down signals it); each process runs in its own session.
exec honcho start -f Procfile -d "$PWD" -e /dev/null
