"""Abstract bases every Workflows model builds on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from django.conf import settings
from django.db import models

if TYPE_CHECKING:
    from tenants.models import Tenant


def user_reference(*, db_constraint: bool = True) -> models.ForeignKey:
    """An optional reference to who did something (created, submitted, decided, ...).

    No index of its own: users are deactivated, never deleted, so nothing looks rows up by
    it alone, and every index is paid for on each write."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=db_constraint,
    )


class BaseModel(models.Model):
    """Audit fields, set by services from the actor, never from the request body."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = user_reference()
    updated_by = user_reference()

    class Meta:
        abstract = True


class TenantQuerySet(models.QuerySet):
    """Querysets of tenant-owned rows: say which tenant, or say `.unscoped()` on purpose."""

    def for_tenant(self, tenant: Tenant | int) -> Self:
        tenant_id = tenant if isinstance(tenant, int) else tenant.pk
        return self.filter(tenant_id=tenant_id)

    def unscoped(self) -> Self:
        """Cross-tenant access, for platform code only (migrations, staff tools, benchmarks)."""
        return self.all()


class TenantOwnedModel(models.Model):
    """A row owned by one tenant. `tenant_id` lives on the row itself, never only via a join.

    On PostgreSQL its primary key is (tenant_id, id), and a ForeignKey to another tenant model
    takes db_constraint=False plus `core.tenant_keys.foreign_key` in its migration (CONTRIBUTING).
    """

    # No single-column index: every tenant table has composite indexes that lead with
    # tenant_id, and a bare tenant index only tempts the planner into scanning a whole tenant.
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="+", db_index=False
    )

    objects: Any = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class TenantScopedModel(TenantOwnedModel, BaseModel):
    """A tenant-owned definition row with audit fields (who created and last changed it)."""

    class Meta:
        abstract = True


class IdempotencyRecord(TenantOwnedModel):
    """A client's `Idempotency-Key` for one POST, and the response it got (replayed on retry)."""

    class State(models.TextChoices):
        IN_FLIGHT = "in_flight"
        DONE = "done"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_FLIGHT)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "user", "key"], name="idempotency_key_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"


class AuditEvent(models.Model):
    """One insert, update or delete of a tenant row, written by a database trigger (PostgreSQL).

    Triggers see every write — ORM, bulk_create, queryset update()/delete(), raw SQL — and take
    the actor and request id from the transaction's context (`core.tenancy`). Append-only: the
    table refuses UPDATE and DELETE, and the application role may only insert and read it.
    `tenant_id` is a plain column, so deleting a tenant's data never deletes its history.
    """

    tenant_id = models.BigIntegerField()
    table_name = models.CharField(max_length=100)
    object_id = models.BigIntegerField(null=True)
    operation = models.CharField(max_length=8)  # INSERT, UPDATE, DELETE
    old_data = models.JSONField(null=True)
    new_data = models.JSONField(null=True)
    actor_id = models.BigIntegerField(null=True)
    request_id = models.CharField(max_length=64, null=True)
    created_at = models.DateTimeField()

    class Meta:
        # Ascending id, read backwards for newest-first: a descending key splits the leftmost
        # page on every insert and leaves the index half empty.
        indexes = [
            models.Index(
                fields=["tenant_id", "table_name", "object_id", "id"], name="audit_object_idx"
            ),
            models.Index(fields=["tenant_id", "id"], name="audit_tenant_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.table_name}#{self.object_id}"
