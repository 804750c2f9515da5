"""The RLS bypass becomes a role: policies open every tenant to the platform role only.

Until now any session could `set_config('app.rls_bypass', 'on')`; the policies are rewritten on
every tenant table (see `core.rls`) and the platform role is created and made a member of the
application role.
"""

from django.db import migrations

from core.rls import EnableRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0005_alter_idempotencyrecord_tenant"),
        ("accounts", "0001_initial"),
        ("tenants", "0001_initial"),
        ("workflows", "0012_fk_indexes_covered_by_tenant_keys"),
        ("approvals", "0004_fewer_indexes"),
        ("cases", "0003_fewer_indexes"),
    ]

    operations = [EnableRowLevelSecurity()]
