"""The tenant: one organisation, whose data no other tenant ever sees."""

import secrets

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

# Audit retention bounds, in days: at least 30 (whoever can set it, the web login included,
# cannot make the trail forget last month), at most about a century.
AUDIT_RETENTION_MIN_DAYS = 30
AUDIT_RETENTION_MAX_DAYS = 36500


def new_webhook_secret() -> str:
    return secrets.token_hex(32)


class Tenant(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    is_active = models.BooleanField(default=True)
    webhook_secret = models.CharField(max_length=128, default=new_webhook_secret, editable=False)
    # Audit events older than this many days are removed (core.partitions); null keeps them.
    audit_retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[
            MinValueValidator(AUDIT_RETENTION_MIN_DAYS),
            MaxValueValidator(AUDIT_RETENTION_MAX_DAYS),
        ],
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(audit_retention_days__isnull=True)
                | models.Q(
                    audit_retention_days__gte=AUDIT_RETENTION_MIN_DAYS,
                    audit_retention_days__lte=AUDIT_RETENTION_MAX_DAYS,
                ),
                name="tenant_audit_retention_bounds",
            )
        ]

    def __str__(self) -> str:
        return self.name
