"""Trigger-based audit trail (PostgreSQL): every write to tenant data lands in core_auditevent.

New tenant tables get the trigger in their own migration with `EnableAudit`;
`core/tests/test_audit.py` fails for a tenant table that lacks it.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

from core.rls import tenant_tables

AUDIT_TABLE = "core_auditevent"
# Not audited: the audit table itself; infrastructure rows (their history is the state they
# drive); and the engine's transition log, which is itself an append-only history.
NOT_AUDITED = {
    AUDIT_TABLE,
    "core_idempotencyrecord",
    "workflows_job",
    "workflows_outboxevent",
    "workflows_statetransition",
}

# An UPDATE keeps only what changed: the old and the new values of the columns that differ (a
# key missing on one side, e.g. the users' "password_changed", is left out of that side), plus
# the row's id. INSERT keeps the new row and DELETE the old one, less their NULL columns (a
# missing column is NULL), so replaying a row's events in order rebuilds every version of it.
# An UPDATE that changes nothing is not recorded.
DIFF_SQL = """
CREATE OR REPLACE FUNCTION core_audit_diff(row_old jsonb, row_new jsonb,
                                           OUT old_diff jsonb, OUT new_diff jsonb)
LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object('id', row_old->'id')
           || COALESCE(jsonb_object_agg(key, row_old->key) FILTER (WHERE row_old ? key), '{}'),
         jsonb_build_object('id', row_new->'id')
           || COALESCE(jsonb_object_agg(key, row_new->key) FILTER (WHERE row_new ? key), '{}')
  FROM (SELECT jsonb_object_keys(row_old) AS key UNION SELECT jsonb_object_keys(row_new)) keys
  WHERE row_old->key IS DISTINCT FROM row_new->key
$$;

-- The row less its NULL columns (top level only: a JSON column's own nulls stay).
CREATE OR REPLACE FUNCTION core_audit_compact(row_data jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT row_data - ARRAY(SELECT key FROM jsonb_each(row_data) WHERE value = 'null'::jsonb)
$$;
"""

FUNCTION_SQL = f"""
{DIFF_SQL}
CREATE OR REPLACE FUNCTION core_audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  row_old jsonb;
  row_new jsonb;
  rec jsonb;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN row_old := to_jsonb(OLD); END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN row_new := to_jsonb(NEW); END IF;
  rec := COALESCE(row_new, row_old);
  IF TG_OP = 'UPDATE' THEN
    IF row_old = row_new THEN RETURN NULL; END IF;
    SELECT d.old_diff, d.new_diff INTO row_old, row_new FROM core_audit_diff(row_old, row_new) d;
  ELSE
    row_old := core_audit_compact(row_old);
    row_new := core_audit_compact(row_new);
  END IF;
  INSERT INTO {AUDIT_TABLE} (tenant_id, table_name, object_id, operation, old_data, new_data,
                             actor_id, request_id, created_at)
  VALUES ((rec->>'tenant_id')::bigint, TG_TABLE_NAME, (rec->>'id')::bigint, TG_OP, row_old,
          row_new, NULLIF(current_setting('app.actor_id', true), '')::bigint,
          NULLIF(current_setting('app.request_id', true), ''), clock_timestamp());
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION core_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only';
END $$;

DROP TRIGGER IF EXISTS audit_append_only ON {AUDIT_TABLE};
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON {AUDIT_TABLE}
  FOR EACH ROW EXECUTE FUNCTION core_audit_append_only();
"""


def trigger_sql(table: str) -> list[str]:
    return [
        f'DROP TRIGGER IF EXISTS audit_row ON "{table}"',
        f'CREATE TRIGGER audit_row AFTER INSERT OR UPDATE OR DELETE ON "{table}" '
        "FOR EACH ROW EXECUTE FUNCTION core_audit_row()",
    ]


class EnableAudit(migrations.RunPython):
    """Install the audit function and a row trigger on every tenant table known here."""

    def __init__(self, tables: list[str] | None = None) -> None:
        self.tables = tables
        super().__init__(self._forward, self._backward, elidable=False)

    def _forward(self, apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return  # SQLite (the embedded default): no triggers, no audit rows
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(FUNCTION_SQL)
            for table in self.tables or tenant_tables(apps):
                if table not in NOT_AUDITED:
                    for sql in trigger_sql(table):
                        cursor.execute(sql)
            # The application may read and append, never rewrite history.
            role = app_role_name()
            cursor.execute(
                f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
                f'REVOKE UPDATE, DELETE, TRUNCATE ON {AUDIT_TABLE} FROM "{role}"; '
                "END IF; END $$"
            )

    def _backward(self, apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            for table in self.tables or tenant_tables(apps):
                cursor.execute(f'DROP TRIGGER IF EXISTS audit_row ON "{table}"')


def app_role_name() -> str:
    from core.rls import app_role

    return app_role()
