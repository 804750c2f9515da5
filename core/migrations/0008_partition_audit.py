"""The audit trail becomes partitioned by month (core.partitions), its rows kept."""

from django.db import migrations

from core.audit_legacy import LEGACY_FUNCTION_SQL as FUNCTION_SQL
from core.partitions import function_sql, partition_table
from core.rls import app_role


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite: one plain table
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(function_sql())
        partition_table(
            cursor,
            "core_auditevent",
            {
                "audit_object_idx": "tenant_id, table_name, object_id, id",
                "audit_tenant_idx": "tenant_id, id",
            },
        )
        cursor.execute(FUNCTION_SQL)  # the append-only trigger, on the new parent
        cursor.execute(
            f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{app_role()}') THEN "
            f'REVOKE UPDATE, DELETE, TRUNCATE ON core_auditevent FROM "{app_role()}"; '
            "END IF; END $$"
        )


class Migration(migrations.Migration):
    atomic = True
    dependencies = [("core", "0007_audit_keeps_changes")]
    operations = [migrations.RunPython(forward, elidable=False)]
