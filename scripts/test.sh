#!/usr/bin/env bash
# The whole test suite: pytest against real PostgreSQL, the console's component tests (Vitest),
# then the end-to-end tests in Debian's chromium. Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/with_postgres.sh .venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" = 5 ]; then
  echo "pytest collected no tests: that is a failure" >&2
  exit 1
fi
[ "$rc" = 0 ] || exit "$rc"
echo "== console component tests (vitest)"
(cd frontend && npx vitest run) || exit $?
echo "== end-to-end tests (playwright-core, /usr/bin/chromium)"
bash scripts/with_postgres.sh bash scripts/e2e.sh
