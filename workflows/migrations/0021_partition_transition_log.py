"""The transition log becomes partitioned by month (core.partitions), its rows kept."""

from django.db import migrations

from core.partitions import partition_table


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite: one plain table
    with schema_editor.connection.cursor() as cursor:
        partition_table(
            cursor,
            "workflows_statetransition",
            {"transition_obj_idx": "tenant_id, object_type, object_id"},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0008_partition_audit"),
        ("workflows", "0020_metrics_gauges_function"),
    ]
    operations = [migrations.RunPython(forward, elidable=False)]
