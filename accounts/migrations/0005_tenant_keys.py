"""Keys with tenant_id (core.tenant_keys, README "Scaling out"): the primary keys of the
delegations and notification preferences become (tenant_id, id). accounts_user is a
reference table (read before any tenant is known) and keeps its key."""

from django.db import migrations

from core.tenant_keys import primary_key


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_notification_preferences")]
    operations = [
        primary_key("accounts_delegation"),
        primary_key("accounts_notificationpreference"),
    ]
