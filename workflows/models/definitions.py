"""Workflow definitions: a Workflow is ordered Steps, each naming an action from the registry."""

from django.db import models
from django.db.models import Q

from core.models import TenantScopedModel


class Workflow(TenantScopedModel):
    """A definition; with `code` and `transfer_type` it is the seed's workflow template."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    is_active = models.BooleanField(default=True)
    code = models.CharField(max_length=64, null=True, blank=True)
    transfer_type = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "code"],
                condition=Q(code__isnull=False),
                name="workflow_code_unique_per_tenant",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "transfer_type"], name="workflow_tenant_type_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Step(TenantScopedModel):
    """One step of a workflow; `order` is unique within the workflow, 0 runs first."""

    workflow = models.ForeignKey(
        Workflow, on_delete=models.CASCADE, related_name="steps", db_constraint=False
    )
    name = models.CharField(max_length=200)
    order = models.PositiveIntegerField()
    action = models.CharField(max_length=64)
    config = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["workflow_id", "order"]
        constraints = [
            # Deferred so that two steps can swap orders inside one transaction.
            models.UniqueConstraint(
                fields=["tenant", "workflow", "order"],
                name="step_order_unique_per_workflow",
                deferrable=models.Deferrable.DEFERRED,
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "workflow", "order"], name="step_tenant_wf_order_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.name}"
