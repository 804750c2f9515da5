"""A case: what the call center works on. A call opens one; workflows run on it (subject "case")."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.models import TenantScopedModel


class CaseStatus(models.TextChoices):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


class CasePriority(models.TextChoices):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Case(TenantScopedModel):
    """`reference` is unique per tenant; the services generate `CASE-000123` when none is given."""

    reference = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    status = models.CharField(max_length=16, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    priority = models.CharField(
        max_length=16, choices=CasePriority.choices, default=CasePriority.NORMAL
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_cases",
        db_index=False,  # case_tenant_assignee_idx leads with the tenant instead
    )
    data = models.JSONField(default=dict, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "reference"], name="case_reference_unique_per_tenant"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-created_at", "-id"], name="case_tenant_created_idx"),
            models.Index(fields=["tenant", "status"], name="case_tenant_status_idx"),
            models.Index(fields=["tenant", "priority"], name="case_tenant_priority_idx"),
            models.Index(fields=["tenant", "assignee"], name="case_tenant_assignee_idx"),
        ]

    def __str__(self) -> str:
        return self.reference
