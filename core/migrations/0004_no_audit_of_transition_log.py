"""The transition log is already an append-only history: auditing it only doubled writes."""

from django.db import migrations


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute('DROP TRIGGER IF EXISTS audit_row ON "workflows_statetransition"')


def restore(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            'CREATE TRIGGER audit_row AFTER INSERT OR UPDATE OR DELETE ON "workflows_statetransition" '
            "FOR EACH ROW EXECUTE FUNCTION core_audit_row()"
        )


class Migration(migrations.Migration):
    dependencies = [("core", "0003_audit_event")]
    operations = [migrations.RunPython(drop, restore, elidable=False)]
