#!/usr/bin/env bash
# The console's checks: API types current with the schema, type check, lint.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
DATABASE_URL=sqlite:///:memory: .venv/bin/python manage.py spectacular --file "$tmp/openapi.yaml" 2>/dev/null
(cd frontend && npx openapi-typescript "$tmp/openapi.yaml" -o "$tmp/schema.d.ts" >/dev/null)
if ! diff -q "$tmp/schema.d.ts" frontend/src/api/schema.d.ts >/dev/null; then
  echo "frontend/src/api/schema.d.ts is out of date with the API: run make frontend-types" >&2
  diff "$tmp/schema.d.ts" frontend/src/api/schema.d.ts | head -40 >&2
  exit 1
fi
cd frontend
npx tsc --noEmit -p tsconfig.json
npx eslint . --max-warnings 0
echo "frontend: types current, tsc and eslint clean"
