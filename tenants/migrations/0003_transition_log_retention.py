"""A tenant's retention applies to the runs' transition log too: `core_audit_expire` again, as
`core.partitions.retention_sql` now writes it (partitions of both histories, rows of both)."""

from django.db import migrations

from core.partitions import retention_sql


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":  # SQLite: nothing to expire
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(retention_sql())


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0002_audit_retention"),
        ("workflows", "0023_task_claimed_open_idx"),
    ]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop, elidable=False)]
