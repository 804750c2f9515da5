"""Keys with tenant_id (core.tenant_keys, README "Scaling out"): the cases' primary key
becomes (tenant_id, id)."""

from django.db import migrations

from core.tenant_keys import primary_key


class Migration(migrations.Migration):
    dependencies = [("cases", "0003_fewer_indexes")]
    operations = [primary_key("cases_case")]
