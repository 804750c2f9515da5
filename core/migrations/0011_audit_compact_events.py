"""The audit event gets smaller (see `core.audit`): a table code instead of the table's name, a
one-letter operation, the middleware's request ids as uuid, compact json text without the
columns' own `id`/`tenant_id` or NULLs, no primary key constraint, and two indexes:
(tenant_id, id) for the newest-first log and (tenant_id, object_id), whose few events per
object deduplicate into one entry. PostgreSQL: the partitioned table is built again in the new
column order (fixed-width first: no padding) and the rows copied; SQLite: the same fields by
Django's operations. Irreversible.
"""

from typing import Any

from django.db import migrations, models
from django.db.migrations.operations.base import Operation

import core.models
from core.audit import (
    AUDIT_TABLE,
    FUNCTION_SQL,
    NOT_AUDITED,
    REDACTING_SQL,
    TABLES_TABLE,
    code_sql,
    trigger_sql,
)
from core.partitions import function_sql
from core.rls import app_role, enable_sql

COPY_SQL = f"""
CREATE FUNCTION pg_temp.audit_strip(j json, drop_keys text[]) RETURNS json
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT ('{{' || COALESCE(string_agg(to_json(key)::text || ':' || value::text, ','), '') || '}}')::json
  FROM json_each(j) WHERE NOT key = ANY(drop_keys) AND value::text <> 'null'
$$;
INSERT INTO {AUDIT_TABLE} (id, tenant_id, object_id, actor_id, created_at, table_code, operation,
                           request_uuid, request_label, old_data, new_data)
SELECT e.id, e.tenant_id, e.object_id, e.actor_id, e.created_at, t.code, left(e.operation, 1),
       CASE WHEN e.request_id ~ '^[0-9a-f]{{32}}$' THEN e.request_id::uuid END,
       CASE WHEN e.request_id !~ '^[0-9a-f]{{32}}$' THEN e.request_id END,
       -- only what the columns hold anyway, and NULLs (a missing key is NULL), are left out
       CASE WHEN e.operation = 'UPDATE' THEN pg_temp.audit_strip(e.old_data::json, ids.same)
            ELSE pg_temp.audit_strip(e.old_data::json, ids.own) END,
       CASE WHEN e.operation = 'UPDATE' THEN pg_temp.audit_strip(e.new_data::json, ids.same)
            WHEN e.operation = 'INSERT' THEN pg_temp.audit_strip(e.new_data::json, ids.own)
            ELSE e.new_data::json END
  FROM {AUDIT_TABLE}_old e JOIN {TABLES_TABLE} t ON t.name = e.table_name
  CROSS JOIN LATERAL (SELECT
    ARRAY(SELECT k FROM unnest(ARRAY['id', 'tenant_id']) k
          WHERE e.old_data->k IS NOT DISTINCT FROM e.new_data->k
            AND (e.new_data->>k) IS NOT DISTINCT FROM
                (CASE k WHEN 'id' THEN e.object_id ELSE e.tenant_id END)::text) AS same,
    ARRAY(SELECT k FROM unnest(ARRAY['id', 'tenant_id']) k
          WHERE (COALESCE(e.new_data, e.old_data)->>k) =
                (CASE k WHEN 'id' THEN e.object_id ELSE e.tenant_id END)::text) AS own) ids
 ORDER BY e.id
"""


def rebuild(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    role = app_role()
    with schema_editor.connection.cursor() as cursor:
        execute = cursor.execute
        # Every table with an audit trigger, every name in the events, and the tenant (the last
        # event of tenant_delete) get a code, in name order.
        execute(
            f"""INSERT INTO {TABLES_TABLE} (name)
                SELECT name FROM (
                  SELECT c.relname::text AS name FROM pg_trigger g JOIN pg_class c
                    ON c.oid = g.tgrelid WHERE g.tgname = 'audit_row'
                  UNION SELECT DISTINCT table_name FROM {AUDIT_TABLE}
                  UNION SELECT 'tenants_tenant') n
                ORDER BY name ON CONFLICT (name) DO NOTHING"""  # noqa: S608
        )
        execute(
            f'DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = \'{role}\') THEN '
            f'REVOKE UPDATE, DELETE, TRUNCATE ON {TABLES_TABLE} FROM "{role}"; END IF; END $$'
        )
        # The old table steps aside (its keys and indexes go first: their names are reused).
        execute("DROP INDEX audit_object_idx, audit_tenant_idx")
        execute(f"ALTER TABLE {AUDIT_TABLE} DROP CONSTRAINT {AUDIT_TABLE}_pkey")
        execute(f"ALTER SEQUENCE {AUDIT_TABLE}_id_seq OWNED BY NONE")
        execute(
            f"""SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = '{AUDIT_TABLE}'::regclass"""  # noqa: S608
        )
        for (part,) in cursor.fetchall():
            old_name = part.replace(AUDIT_TABLE, f"{AUDIT_TABLE}_old", 1)
            execute(f'ALTER TABLE "{part}" RENAME TO "{old_name}"')
        execute(f"ALTER TABLE {AUDIT_TABLE} RENAME TO {AUDIT_TABLE}_old")
        # Fixed-width columns first, widest first, so that no byte is padding.
        execute(
            f"""CREATE TABLE {AUDIT_TABLE} (
                  id bigint NOT NULL DEFAULT nextval('{AUDIT_TABLE}_id_seq'),
                  tenant_id bigint NOT NULL,
                  object_id bigint,
                  actor_id bigint,
                  created_at timestamptz NOT NULL,
                  table_code smallint NOT NULL,
                  operation varchar(1) NOT NULL,
                  request_uuid uuid,
                  request_label varchar(64),
                  old_data json,
                  new_data json
                ) PARTITION BY RANGE (created_at)"""
        )
        execute(f"ALTER SEQUENCE {AUDIT_TABLE}_id_seq OWNED BY {AUDIT_TABLE}.id")
        execute(function_sql())
        execute(f"CREATE TABLE {AUDIT_TABLE}_default PARTITION OF {AUDIT_TABLE} DEFAULT")
        execute("SELECT core_secure_partition(%s)", [f"{AUDIT_TABLE}_default"])
        execute(
            f"""SELECT core_ensure_month_partition(%s, m::date) FROM generate_series(
                  date_trunc('month', COALESCE((SELECT min(created_at) FROM {AUDIT_TABLE}_old),
                                               now()) AT TIME ZONE 'UTC'),
                  date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month',
                  interval '1 month') m""",  # noqa: S608
            [AUDIT_TABLE],
        )
        execute(COPY_SQL)
        execute(f"DROP TABLE {AUDIT_TABLE}_old")
        execute(f"CREATE INDEX audit_object_idx ON {AUDIT_TABLE} (tenant_id, object_id)")
        execute(f"CREATE INDEX audit_tenant_idx ON {AUDIT_TABLE} (tenant_id, id)")
        for sql in enable_sql(AUDIT_TABLE):
            execute(sql)
        execute(
            f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
            f'GRANT SELECT, INSERT ON {AUDIT_TABLE} TO "{role}"; '
            f'REVOKE UPDATE, DELETE, TRUNCATE ON {AUDIT_TABLE} FROM "{role}"; END IF; END $$'
        )
        # The new trigger functions (and the append-only trigger on the new table), then each
        # audited table's trigger again, now with its code.
        execute(FUNCTION_SQL)
        execute(REDACTING_SQL)
        execute(
            "SELECT DISTINCT c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid"
            " WHERE g.tgname = 'audit_row' ORDER BY 1"
        )
        for (table,) in cursor.fetchall():
            if table not in NOT_AUDITED:
                for sql in trigger_sql(table):
                    execute(sql)
        execute("DROP FUNCTION IF EXISTS core_audit_diff(jsonb, jsonb)")
        execute("DROP FUNCTION IF EXISTS core_audit_compact(jsonb)")


def sqlite_codes(apps: Any, schema_editor: Any) -> None:
    schema_editor.execute(code_sql("tenants_tenant"))
    schema_editor.execute(
        f"INSERT INTO {TABLES_TABLE} (name) SELECT DISTINCT table_name FROM {AUDIT_TABLE}"  # noqa: S608
        f" WHERE table_name NOT IN (SELECT name FROM {TABLES_TABLE})"
    )
    schema_editor.execute(
        f"UPDATE {AUDIT_TABLE} SET table_code = (SELECT code FROM {TABLES_TABLE}"  # noqa: S608
        " WHERE name = table_name), operation = substr(operation, 1, 1),"
        " request_label = request_id"
    )


class SQLiteOnly(Operation):
    """Django's own operation on SQLite; on PostgreSQL `rebuild` did the work."""

    reduces_to_sql = False
    reversible = False

    def __init__(self, operation: Operation) -> None:
        self.operation = operation

    def state_forwards(self, app_label: str, state: Any) -> None:
        self.operation.state_forwards(app_label, state)

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            self.operation.database_forwards(app_label, schema_editor, from_state, to_state)

    def describe(self) -> str:
        return f"{self.operation.describe()} (SQLite; PostgreSQL: rebuilt)"


FIELD_CHANGES = [
    migrations.RemoveIndex(model_name="auditevent", name="audit_object_idx"),
    migrations.RemoveIndex(model_name="auditevent", name="audit_tenant_idx"),
    migrations.AddField(
        model_name="auditevent",
        name="table",
        field=models.ForeignKey(
            db_column="table_code",
            db_constraint=False,
            db_index=False,
            null=True,
            on_delete=models.deletion.DO_NOTHING,
            related_name="+",
            to="core.audittable",
        ),
    ),
    migrations.AddField(
        model_name="auditevent", name="request_uuid", field=models.UUIDField(null=True)
    ),
    migrations.AddField(
        model_name="auditevent",
        name="request_label",
        field=models.CharField(max_length=64, null=True),
    ),
    migrations.RunPython(sqlite_codes, elidable=False),
    migrations.AlterField(
        model_name="auditevent",
        name="table",
        field=models.ForeignKey(
            db_column="table_code",
            db_constraint=False,
            db_index=False,
            on_delete=models.deletion.DO_NOTHING,
            related_name="+",
            to="core.audittable",
        ),
    ),
    migrations.RemoveField(model_name="auditevent", name="table_name"),
    migrations.RemoveField(model_name="auditevent", name="request_id"),
    migrations.AlterField(
        model_name="auditevent", name="operation", field=models.CharField(max_length=1)
    ),
    migrations.AlterField(
        model_name="auditevent",
        name="old_data",
        field=core.models.AuditPayloadField(null=True),
    ),
    migrations.AlterField(
        model_name="auditevent",
        name="new_data",
        field=core.models.AuditPayloadField(null=True),
    ),
    migrations.AddIndex(
        model_name="auditevent",
        index=models.Index(fields=["tenant_id", "object_id"], name="audit_object_idx"),
    ),
    migrations.AddIndex(
        model_name="auditevent",
        index=models.Index(fields=["tenant_id", "id"], name="audit_tenant_idx"),
    ),
]


class Migration(migrations.Migration):
    atomic = True
    dependencies = [
        ("core", "0010_idempotency_tenant_key"),
        ("accounts", "0004_notification_preferences"),
        ("approvals", "0004_fewer_indexes"),
        ("cases", "0003_fewer_indexes"),
        ("workflows", "0021_partition_transition_log"),
    ]
    operations = [
        migrations.CreateModel(
            name="AuditTable",
            fields=[
                ("code", models.SmallAutoField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=100, unique=True)),
            ],
        ),
        migrations.RunPython(rebuild, elidable=False),
        migrations.SeparateDatabaseAndState(
            state_operations=FIELD_CHANGES,
            database_operations=[SQLiteOnly(op) for op in FIELD_CHANGES],
        ),
    ]
