"""Row-level security on every tenant-owned table, and the application's database role."""

from django.db import migrations

from core.rls import EnableRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("accounts", "0001_initial"),
        ("tenants", "0001_initial"),
        ("workflows", "0005_alter_steprun_idempotency_key_and_more"),
        ("approvals", "0002_transfer"),
        ("cases", "0001_initial"),
    ]

    operations = [EnableRowLevelSecurity()]
