"""Audit events of UPDATEs keep the changed columns only (see core.audit.ROW_FUNCTION_SQL)."""

from django.db import migrations

from core.audit import AUDIT_TABLE, ROW_FUNCTION_SQL

# The function as 0003 installed it: whole old and new rows for every UPDATE.
WHOLE_ROWS_SQL = f"""
CREATE OR REPLACE FUNCTION core_audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  row_old jsonb;
  row_new jsonb;
  rec jsonb;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN row_old := to_jsonb(OLD); END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN row_new := to_jsonb(NEW); END IF;
  IF TG_OP = 'UPDATE' AND row_old = row_new THEN RETURN NULL; END IF;
  rec := COALESCE(row_new, row_old);
  INSERT INTO {AUDIT_TABLE} (tenant_id, table_name, object_id, operation, old_data, new_data,
                             actor_id, request_id, created_at)
  VALUES ((rec->>'tenant_id')::bigint, TG_TABLE_NAME, (rec->>'id')::bigint, TG_OP, row_old,
          row_new, NULLIF(current_setting('app.actor_id', true), '')::bigint,
          NULLIF(current_setting('app.request_id', true), ''), clock_timestamp());
  RETURN NULL;
END $$;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ROW_FUNCTION_SQL)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(WHOLE_ROWS_SQL)


class Migration(migrations.Migration):
    dependencies = [("core", "0005_alter_idempotencyrecord_tenant")]
    operations = [migrations.RunPython(forward, backward, elidable=False)]
