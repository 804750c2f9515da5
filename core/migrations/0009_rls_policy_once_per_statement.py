"""The tenant policy evaluates its settings once per statement (core.rls.TENANT_CLAUSE): every
tenant table, every partition of the histories, and the function that secures new partitions."""

from django.db import migrations

from core.partitions import PARTITIONED, function_sql
from core.rls import partitions, platform_role, policy, tenant_tables

# The policy before this migration, for going back.
PER_ROW = (
    "current_user = '{platform}'::name OR "
    "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
)


def _alter(apps, schema_editor, expression):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite: application-level scoping only
    with schema_editor.connection.cursor() as cursor:
        for table in tenant_tables(apps) + partitions(cursor, PARTITIONED):
            cursor.execute(
                f'ALTER POLICY tenant_isolation ON "{table}" USING ({expression})'
                f" WITH CHECK ({expression})"
            )
        cursor.execute(function_sql())


def forward(apps, schema_editor):
    _alter(apps, schema_editor, policy())


def backward(apps, schema_editor):
    _alter(apps, schema_editor, PER_ROW.format(platform=platform_role()))


class Migration(migrations.Migration):
    atomic = True
    dependencies = [
        ("core", "0008_partition_audit"),
        ("accounts", "0004_notification_preferences"),
        ("approvals", "0004_fewer_indexes"),
        ("cases", "0003_fewer_indexes"),
        ("workflows", "0021_partition_transition_log"),
    ]
    operations = [migrations.RunPython(forward, backward, elidable=False)]
