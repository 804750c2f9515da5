"""Trigger-based audit trail (PostgreSQL): every write to tenant data lands in core_auditevent.

New tenant tables get the trigger in their own migration with `EnableAudit`;
`core/tests/test_audit.py` fails for a tenant table that lacks it.

What an event keeps (since core 0011; `core.models.AuditEvent` reads both shapes):

- INSERT: the new row, DELETE: the old row, each less its NULL columns and less `id` and
  `tenant_id` (the event's `object_id` and `tenant_id` columns hold them).
- UPDATE: only the columns that differ, old values in `old_data` and new ones in `new_data`;
  a side leaves out a NULL value (a column that became NULL is only in `old_data`, one that
  was NULL only in `new_data`). A column in neither did not change. `id`/`tenant_id` appear
  only if they changed. An UPDATE that changes nothing is not recorded.
- The table as a small code (`core_audittable`, passed to the trigger as its argument), the
  operation as one letter (I, U, D), a request id that is a 32-hex UUID (what the middleware
  makes) as `uuid`, any other as text, and the payload as compact `json` text (no jsonb
  offsets, no spaces).

Replaying an object's events in order rebuilds every version of the row.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

from core.audit_legacy import LEGACY_FUNCTION_SQL
from core.rls import tenant_tables

AUDIT_TABLE = "core_auditevent"
TABLES_TABLE = "core_audittable"
# Not audited: the audit table itself; infrastructure rows (their history is the state they
# drive: idempotency records, jobs and outbox events are inserted and then consumed by the
# system itself, and what they caused is audited where it lands); and the engine's transition
# log, which is itself an append-only, partitioned history of every state change.
NOT_AUDITED = {
    AUDIT_TABLE,
    "core_idempotencyrecord",
    "workflows_job",
    "workflows_outboxevent",
    "workflows_statetransition",
}

# PL/pgSQL, not SQL: a SQL function whose body has a FROM is planned again at every trigger
# call; PL/pgSQL keeps its plans for the session (UPDATE events: about a third cheaper).
DIFF_SQL = """
-- The row (json) as compact text less its NULL columns, id and tenant_id; NULL stays NULL.
CREATE OR REPLACE FUNCTION core_audit_row_data(r json) RETURNS json
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
  RETURN ('{' || COALESCE(string_agg(to_json(key)::text || ':' || value::text, ','), '')
          || '}')::json
  FROM json_each(r) WHERE key <> 'id' AND key <> 'tenant_id' AND value::text <> 'null';
END $$;

-- The columns whose values differ, each side less its NULLs.
CREATE OR REPLACE FUNCTION core_audit_changes(row_old json, row_new json,
                                              OUT old_diff json, OUT new_diff json)
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  SELECT ('{' || COALESCE(string_agg(to_json(o.key)::text || ':' || o.value::text, ',')
                          FILTER (WHERE o.value::text <> 'null'), '') || '}')::json,
         ('{' || COALESCE(string_agg(to_json(n.key)::text || ':' || n.value::text, ',')
                          FILTER (WHERE n.value::text <> 'null'), '') || '}')::json
    INTO old_diff, new_diff
    FROM json_each(row_old) o FULL JOIN json_each(row_new) n ON n.key = o.key
   WHERE o.value::text IS DISTINCT FROM n.value::text;
END $$;
"""


def insert_sql(tenant: str, object_id: str) -> str:
    """The INSERT of one event; `row_old`/`row_new` (json) and TG_ARGV[0] (the table's code)."""
    return f"""INSERT INTO {AUDIT_TABLE} (tenant_id, object_id, actor_id, created_at, table_code,
                             operation, request_uuid, request_label, old_data, new_data)
  SELECT {tenant}, {object_id}, NULLIF(current_setting('app.actor_id', true), '')::bigint,
         clock_timestamp(), TG_ARGV[0]::smallint, left(TG_OP, 1),
         CASE WHEN r ~ '^[0-9a-f]{{32}}$' THEN r::uuid END,
         CASE WHEN r !~ '^[0-9a-f]{{32}}$' THEN r END, row_old, row_new
  FROM (SELECT NULLIF(current_setting('app.request_id', true), '') AS r) request"""


FUNCTION_SQL = f"""
{DIFF_SQL}
CREATE OR REPLACE FUNCTION core_audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  row_old json;
  row_new json;
  rec json;
BEGIN
  IF TG_OP <> 'INSERT' THEN row_old := to_json(OLD); END IF;
  IF TG_OP <> 'DELETE' THEN row_new := to_json(NEW); END IF;
  rec := COALESCE(row_new, row_old);
  IF TG_OP = 'UPDATE' THEN
    IF row_old::text = row_new::text THEN RETURN NULL; END IF;
    SELECT c.old_diff, c.new_diff INTO row_old, row_new FROM core_audit_changes(row_old, row_new) c;
  ELSE
    row_old := core_audit_row_data(row_old);
    row_new := core_audit_row_data(row_new);
  END IF;
  {insert_sql("(rec->>'tenant_id')::bigint", "(rec->>'id')::bigint")};
  RETURN NULL;
END $$;

-- Append-only: only the retention function (core.partitions: SECURITY DEFINER, so running as
-- the table's owner) lifts this, for its own DELETE statement, by a transaction-local flag.
-- Any role can set the flag; only the owner passes the second test (and holds DELETE at all).
CREATE OR REPLACE FUNCTION core_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('core.audit_expiring', true) = 'on'
     AND (SELECT relowner FROM pg_class WHERE oid = TG_RELID)
         = (SELECT oid FROM pg_roles WHERE rolname = current_user) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'the audit log is append-only';
END $$;

DROP TRIGGER IF EXISTS audit_append_only ON {AUDIT_TABLE};
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON {AUDIT_TABLE}
  FOR EACH ROW EXECUTE FUNCTION core_audit_append_only();
"""

# The two tables whose trigger redacts a secret (accounts 0002, workflows 0018), in the same
# shape as core_audit_row.
REDACTING_SQL = f"""
CREATE OR REPLACE FUNCTION accounts_audit_user() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  row_old json;
  row_new json;
  tenant bigint;
  outer_tenant text;
BEGIN
  IF TG_OP <> 'INSERT' THEN row_old := (to_jsonb(OLD) - 'password')::json; END IF;
  IF TG_OP <> 'DELETE' THEN row_new := (to_jsonb(NEW) - 'password')::json; END IF;
  tenant := COALESCE(NEW.tenant_id, OLD.tenant_id);
  IF tenant IS NULL THEN RETURN NULL; END IF;
  IF TG_OP = 'UPDATE' THEN
    IF OLD.password IS DISTINCT FROM NEW.password THEN
      row_new := (row_new::jsonb || '{{"password_changed": true}}'::jsonb)::json;
    ELSIF row_old::text = row_new::text THEN
      RETURN NULL;
    END IF;
    SELECT c.old_diff, c.new_diff INTO row_old, row_new FROM core_audit_changes(row_old, row_new) c;
  ELSE
    row_old := core_audit_row_data(row_old);
    row_new := core_audit_row_data(row_new);
  END IF;
  outer_tenant := current_setting('app.tenant_id', true);
  PERFORM set_config('app.tenant_id', tenant::text, true);
  {insert_sql("tenant", "COALESCE(NEW.id, OLD.id)")};
  PERFORM set_config('app.tenant_id', COALESCE(outer_tenant, ''), true);
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION workflows_audit_webhook_subscription() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  row_old json;
  row_new json;
  rec json;
BEGIN
  IF TG_OP <> 'INSERT' THEN row_old := (to_jsonb(OLD) - 'secret')::json; END IF;
  IF TG_OP <> 'DELETE' THEN row_new := (to_jsonb(NEW) - 'secret')::json; END IF;
  rec := COALESCE(row_new, row_old);
  IF TG_OP = 'UPDATE' THEN
    IF OLD.secret IS DISTINCT FROM NEW.secret THEN
      row_new := (row_new::jsonb || '{{"secret_changed": true}}'::jsonb)::json;
    ELSIF row_old::text = row_new::text THEN
      RETURN NULL;
    END IF;
    SELECT c.old_diff, c.new_diff INTO row_old, row_new FROM core_audit_changes(row_old, row_new) c;
  ELSE
    row_old := core_audit_row_data(row_old);
    row_new := core_audit_row_data(row_new);
  END IF;
  {insert_sql("(rec->>'tenant_id')::bigint", "(rec->>'id')::bigint")};
  RETURN NULL;
END $$;
"""

# Tables whose trigger calls a function of their own (above) instead of core_audit_row.
TRIGGER_FUNCTIONS = {
    "accounts_user": "accounts_audit_user",
    "workflows_webhooksubscription": "workflows_audit_webhook_subscription",
}


def code_sql(table: str) -> str:
    """Give `table` a code in core_audittable (once); the codes are never reused."""
    return f"INSERT INTO {TABLES_TABLE} (name) VALUES ('{table}') ON CONFLICT (name) DO NOTHING"  # noqa: S608


def trigger_sql(table: str) -> list[str]:
    function = TRIGGER_FUNCTIONS.get(table, "core_audit_row")
    return [
        code_sql(table),
        f'DROP TRIGGER IF EXISTS audit_row ON "{table}"',
        f"""DO $$ BEGIN EXECUTE format('CREATE TRIGGER audit_row AFTER INSERT OR UPDATE OR DELETE
              ON "{table}" FOR EACH ROW EXECUTE FUNCTION {function}(%s)',
              (SELECT code FROM {TABLES_TABLE} WHERE name = '{table}')); END $$""",  # noqa: S608
    ]


def compact_schema(cursor: Any) -> bool:
    """Whether core 0011 (the table codes) has run: before it, the legacy trigger."""
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [TABLES_TABLE])
    return bool(cursor.fetchone()[0])


class EnableAudit(migrations.RunPython):
    """Install the audit function and a row trigger on every tenant table known here."""

    def __init__(self, tables: list[str] | None = None) -> None:
        self.tables = tables
        super().__init__(self._forward, self._backward, elidable=False)

    def _forward(self, apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return  # SQLite (the embedded default): no triggers, no audit rows
        with schema_editor.connection.cursor() as cursor:
            compact = compact_schema(cursor)
            cursor.execute(FUNCTION_SQL if compact else LEGACY_FUNCTION_SQL)
            for table in self.tables or tenant_tables(apps):
                if table not in NOT_AUDITED:
                    for sql in trigger_sql(table) if compact else legacy_trigger_sql(table):
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


def legacy_trigger_sql(table: str) -> list[str]:
    return [
        f'DROP TRIGGER IF EXISTS audit_row ON "{table}"',
        f'CREATE TRIGGER audit_row AFTER INSERT OR UPDATE OR DELETE ON "{table}" '
        "FOR EACH ROW EXECUTE FUNCTION core_audit_row()",
    ]


def app_role_name() -> str:
    from core.rls import app_role

    return app_role()
