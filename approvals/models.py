"""Approvals: security groups of users, and the workflow templates assigned to them in order.

Lock order (see `approvals.services`): a SecurityGroup row before its WorkflowAssignment rows;
several rows of one table in pk order.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.models import TenantScopedModel


class SecurityGroup(TenantScopedModel):
    """A named set of users of one tenant; transfers created by its members start its chain."""

    name = models.CharField(max_length=150)
    description = models.TextField(blank=True, default="")
    is_active = models.BooleanField(default=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="SecurityGroupMember",
        through_fields=("security_group", "user"),
        related_name="security_groups",
        blank=True,
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name"], name="security_group_name_unique_per_tenant"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SecurityGroupMember(TenantScopedModel):
    """Membership row. Carries `tenant_id` itself so it can be scoped without a join."""

    security_group = models.ForeignKey(
        SecurityGroup, on_delete=models.CASCADE, related_name="memberships", db_constraint=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="security_group_memberships",
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "security_group", "user"], name="security_group_member_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "user"], name="secgroup_mbr_tenant_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.security_group_id}"


class WorkflowAssignment(TenantScopedModel):
    """A workflow template assigned to a security group; `execution_order` 1 runs first."""

    security_group = models.ForeignKey(
        SecurityGroup, on_delete=models.CASCADE, related_name="assignments", db_constraint=False
    )
    workflow_template = models.ForeignKey(
        "workflows.Workflow",
        on_delete=models.CASCADE,
        related_name="assignments",
        db_constraint=False,
    )
    execution_order = models.PositiveIntegerField()
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["security_group_id", "execution_order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "security_group", "workflow_template"],
                name="assignment_template_unique_per_group",
            ),
            # Deferred so that reorder can swap two orders inside one transaction.
            models.UniqueConstraint(
                fields=["tenant", "security_group", "execution_order"],
                name="assignment_order_unique_per_group",
                deferrable=models.Deferrable.DEFERRED,
            ),
            models.CheckConstraint(
                condition=Q(execution_order__gte=1), name="assignment_execution_order_gte_1"
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "security_group", "execution_order"],
                name="assignment_tenant_group_idx",
            ),
            models.Index(
                fields=["tenant", "workflow_template"], name="assignment_tenant_template_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.execution_order}. {self.workflow_template_id} -> {self.security_group_id}"


class TransferStatus(models.TextChoices):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class Transfer(TenantScopedModel):
    """A finance transfer awaiting approval: creating it starts its group's chain of workflows."""

    security_group = models.ForeignKey(  # indexed by transfer_tenant_group_idx
        SecurityGroup,
        on_delete=models.PROTECT,
        related_name="transfers",
        db_index=False,
        db_constraint=False,
    )
    transfer_type = models.CharField(max_length=32)
    reference = models.CharField(max_length=64)
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    currency = models.CharField(max_length=3)
    description = models.TextField(blank=True, default="")
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=TransferStatus.choices, default=TransferStatus.PENDING
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "reference"], name="transfer_reference_unique_per_tenant"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_amount_positive"),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "-created_at", "-id"], name="transfer_tenant_created_idx"
            ),
            models.Index(fields=["tenant", "status"], name="transfer_tenant_status_idx"),
            models.Index(fields=["tenant", "security_group"], name="transfer_tenant_group_idx"),
            models.Index(fields=["tenant", "created_by"], name="transfer_tenant_creator_idx"),
        ]

    def __str__(self) -> str:
        return self.reference
