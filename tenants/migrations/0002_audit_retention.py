"""Per-tenant audit retention (README "Monthly partitions"): `audit_retention_days` (null keeps
the trail forever; 30 to 36,500 days, checked by the database too), the owner-only
`core_audit_expire` the poller calls, and a trigger that records a retention change in the
tenant's own audit trail (`core.partitions.retention_sql`)."""

import django.core.validators
from django.db import migrations, models

from core.partitions import retention_sql


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":  # SQLite: no audit, nothing to expire
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(retention_sql())


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "DROP TRIGGER IF EXISTS audit_retention ON tenants_tenant;"
            " DROP FUNCTION IF EXISTS tenants_audit_retention();"
            " DROP FUNCTION IF EXISTS core_audit_expire();"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0001_initial"),
        ("core", "0011_audit_compact_events"),
    ]

    operations = [
        migrations.AddField(
            model_name="tenant",
            name="audit_retention_days",
            field=models.PositiveIntegerField(
                blank=True,
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(30),
                    django.core.validators.MaxValueValidator(36500),
                ],
            ),
        ),
        migrations.AddConstraint(
            model_name="tenant",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("audit_retention_days__isnull", True),
                    models.Q(
                        ("audit_retention_days__gte", 30), ("audit_retention_days__lte", 36500)
                    ),
                    _connector="OR",
                ),
                name="tenant_audit_retention_bounds",
            ),
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
