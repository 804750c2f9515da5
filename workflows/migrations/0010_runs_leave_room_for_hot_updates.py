"""Runs and step runs change status a few times each, on columns no index covers: leave room
on each page so that PostgreSQL can make those HOT updates (no index writes at all)."""

from django.db import migrations

TABLES = ("workflows_workflowrun", "workflows_steprun")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f'ALTER TABLE "{table}" SET (fillfactor = 70)')


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f'ALTER TABLE "{table}" RESET (fillfactor)')


class Migration(migrations.Migration):
    dependencies = [("workflows", "0009_fewer_indexes")]
    operations = [migrations.RunPython(forward, backward, elidable=False)]
