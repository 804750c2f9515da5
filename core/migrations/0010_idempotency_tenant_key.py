"""Keys with tenant_id (core.tenant_keys, README "Scaling out"): the idempotency records'
primary key becomes (tenant_id, id). (The audit trail's key is not changed here.)"""

from django.db import migrations

from core.tenant_keys import primary_key


class Migration(migrations.Migration):
    dependencies = [("core", "0009_rls_policy_once_per_statement")]
    operations = [primary_key("core_idempotencyrecord")]
