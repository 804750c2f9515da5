#!/usr/bin/env bash
# End-to-end tests: the built console in Debian's chromium (frontend/e2e, Playwright) against a
# real server on PostgreSQL. The server logs in as a non-superuser member of the application
# role, as the API does in production; the database is made afresh each run.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?run through scripts/with_postgres.sh}"
chromium=${CHROMIUM_PATH:-/usr/bin/chromium}
[ -x "$chromium" ] || { echo "No chromium at $chromium: apt-get install chromium" >&2; exit 1; }

server=${DATABASE_URL%/*}
db=${E2E_DATABASE:-workflows_e2e}
login=workflows_e2e_web
export PGOPTIONS="--client-min-messages=warning"
psql "$server/postgres" -qAt -v ON_ERROR_STOP=1 \
  -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
owner_env=(env PYTHONPATH="$PWD" DJANGO_SETTINGS_MODULE=config.settings.local DATABASE_URL="$server/$db" DB_ALLOW_SUPERUSER=1)
"${owner_env[@]}" .venv/bin/python manage.py migrate --noinput >/dev/null
psql "$server/$db" -qAt -v ON_ERROR_STOP=1 <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$login') THEN
    CREATE ROLE $login LOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
END \$\$;
GRANT workflows_app TO $login;
SQL
mkdir -p frontend/test-artifacts
seed_file=$PWD/frontend/test-artifacts/e2e-data.json
"${owner_env[@]}" .venv/bin/python scripts/e2e_seed.py "$seed_file"

# The server: embedded settings (in-process work, no broker) on PostgreSQL, no debug pages.
export DJANGO_SETTINGS_MODULE=config.settings.local
export DATABASE_URL="postgres://$login@${server#postgres://*@}/$db"
export WORKFLOWS_CONSOLE_DIR=$PWD/frontend/dist E2E_SEED_FILE=$seed_file CHROMIUM_PATH=$chromium
export THROTTLE_LOGIN_RATE=1000/minute THROTTLE_ANON_RATE=10000/minute THROTTLE_USER_RATE=10000/minute
export WEBHOOK_ALLOW_PRIVATE=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
unset DB_ALLOW_SUPERUSER
cd frontend
rc=0
npx playwright test "$@" || rc=$?
echo "e2e screenshots: $PWD/test-artifacts/e2e; server log: $PWD/test-artifacts/e2e-server.log"
exit $rc
