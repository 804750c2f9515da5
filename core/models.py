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


class AuditTable(models.Model):
    """The code of each audited table: an event stores this smallint, not the table's name.

    Written by the migrations (`core.audit.EnableAudit`); the application role may add a
    name (tenant_delete's `tenants_tenant`) but never change or remove one."""

    code = models.SmallAutoField(primary_key=True)
    name = models.CharField(max_length=100, unique=True)

    def __str__(self) -> str:
        return self.name


class AuditPayloadField(models.JSONField):
    """JSON kept as `json` (its text, as written) on PostgreSQL: smaller than jsonb for one
    row's worth of columns. psycopg decodes `json` itself, so a value may arrive decoded."""

    def db_type(self, connection: Any) -> str | None:
        return "json" if connection.vendor == "postgresql" else super().db_type(connection)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or not isinstance(value, str):
            return value
        return super().from_db_value(value, expression, connection)


class AuditEvent(models.Model):
    """One insert, update or delete of a tenant row, written by a database trigger (PostgreSQL).

    Triggers see every write — ORM, bulk_create, queryset update()/delete(), raw SQL — and take
    the actor and request id from the transaction's context (`core.tenancy`). Append-only: the
    table refuses UPDATE and DELETE, and the application role may only insert and read it.
    `tenant_id` is a plain column, so deleting a tenant's data never deletes its history.
    What the payload keeps is in `core.audit`; `old_row`/`new_row` give it back whole.
    """

    INSERT, UPDATE, DELETE = "I", "U", "D"
    NAMES = {INSERT: "INSERT", UPDATE: "UPDATE", DELETE: "DELETE"}

    tenant_id = models.BigIntegerField()
    object_id = models.BigIntegerField(null=True)
    actor_id = models.BigIntegerField(null=True)
    created_at = models.DateTimeField()
    table = models.ForeignKey(
        AuditTable,
        on_delete=models.DO_NOTHING,
        db_column="table_code",
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    operation = models.CharField(max_length=1)  # I, U, D
    # A request id the middleware made (32 hex digits) as a uuid; any other as text.
    request_uuid = models.UUIDField(null=True)
    request_label = models.CharField(max_length=64, null=True)
    old_data = AuditPayloadField(null=True)
    new_data = AuditPayloadField(null=True)

    class Meta:
        # No primary key constraint in PostgreSQL (nothing looks an event up by id alone); the
        # object index holds no id: an object's few events share one deduplicated entry.
        indexes = [
            models.Index(fields=["tenant_id", "object_id"], name="audit_object_idx"),
            models.Index(fields=["tenant_id", "id"], name="audit_tenant_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.table_id}#{self.object_id}"

    @property
    def request_id(self) -> str | None:
        return self.request_label or (self.request_uuid.hex if self.request_uuid else None)

    @property
    def action(self) -> str:
        """INSERT, UPDATE or DELETE."""
        return self.NAMES.get(self.operation, self.operation)

    @property
    def old_row(self) -> Any:
        return self.rows()[0]

    @property
    def new_row(self) -> Any:
        return self.rows()[1]

    def rows(self) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """old_data and new_data as the audit showed them before core 0011: an INSERT's or a
        DELETE's whole row (less NULLs) with `id` and `tenant_id`; an UPDATE's changed columns
        on both sides (NULL written out) plus `id`. Events written before keep their shape."""
        old, new = self.old_data, self.new_data
        ids = {"id": self.object_id}
        if self.operation == self.UPDATE and isinstance(old, dict) and isinstance(new, dict):
            keys = list(dict.fromkeys([*old, *new]))
            return (
                {**ids, **{k: old.get(k) for k in keys}},
                {**ids, **{k: new.get(k) for k in keys}},
            )
        ids["tenant_id"] = self.tenant_id
        if self.operation == self.INSERT and isinstance(new, dict):
            new = {**ids, **new}
        elif self.operation == self.DELETE and isinstance(old, dict):
            old = {**ids, **old}
        return old, new
