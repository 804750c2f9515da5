"""What the approvals services share: error shapes, messages and the locking helpers.

Lock order, everywhere in this app: SecurityGroup rows first (several in pk order), then their
WorkflowAssignment rows in pk order. Every write to a group's assignments locks the group row,
so the checks that precede the write cannot be raced by another write to the same group.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection

from approvals.models import SecurityGroup
from core.errors import ValidationFailed
from tenants.models import Tenant

ORDER_CONSTRAINT = "assignment_order_unique_per_group"
DUPLICATE_ORDERS = "Duplicate execution orders in assignment list"


def invalid_pk(pk: Any) -> str:
    """The message for an id that does not exist or is another tenant's: DRF's own wording."""
    return f'Invalid pk "{pk}" - object does not exist.'


def template_label(template: Any) -> str:
    return template.code or template.name


class ItemsInvalid(ValidationFailed):
    """Errors about items of a list field, in DRF's own shape for nested lists: keyed by the
    item's index, only the failing items: `{field: {"1": {key: [msg]}}}`."""

    def __init__(
        self, *, field: str, item_errors: dict[int, dict[str, list[str]]], code: str = "invalid"
    ) -> None:
        first = next(iter(item_errors.values()))
        super().__init__(next(iter(first.values()))[0], code, field=field)
        self.item_errors = item_errors

    def as_errors(self) -> dict[str, Any]:
        field = str(self.field)  # always given: `field` is a required argument here
        return {field: {str(i): errors for i, errors in sorted(self.item_errors.items())}}


def lock_groups(
    *, tenant: Tenant, group_ids: Iterable[int], field: str
) -> dict[int, SecurityGroup]:
    """Lock the tenant's groups with these ids in pk order; a missing one is a 400 on `field`."""
    wanted = sorted(set(group_ids))
    groups = {
        group.pk: group
        for group in SecurityGroup.objects.for_tenant(tenant)
        .filter(pk__in=wanted)
        .order_by("pk")
        .select_for_update()
    }
    for pk in wanted:
        if pk not in groups:
            raise ValidationFailed(invalid_pk(pk), "does_not_exist", field=field)
    return groups


def lock_group(*, tenant: Tenant, group_id: int, field: str) -> SecurityGroup:
    return lock_groups(tenant=tenant, group_ids=[group_id], field=field)[group_id]


def require_active_group(group: SecurityGroup, *, field: str) -> None:
    if not group.is_active:
        raise ValidationFailed(
            f"Security group '{group.name}' is inactive.", "inactive", field=field
        )


def check_deferred_orders_now() -> None:
    """Run the deferred order-uniqueness check now, so a violation is an IntegrityError inside
    the service (turned into a 400 there) rather than at some outer COMMIT. Then defer it again,
    so later statements of the same transaction (a caller's, a test's) may still swap orders."""
    if connection.vendor != "postgresql":
        return  # SQLite has no deferrable constraints; its writes are serialised anyway.
    with connection.cursor() as cursor:
        cursor.execute(f'SET CONSTRAINTS "{ORDER_CONSTRAINT}" IMMEDIATE')
        cursor.execute(f'SET CONSTRAINTS "{ORDER_CONSTRAINT}" DEFERRED')
