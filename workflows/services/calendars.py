"""Writes to business calendars. One default per tenant: making a calendar the default takes
the mark from the previous one in the same transaction (the partial unique constraint
`calendar_one_default_per_tenant` backs it against a concurrent write)."""

from __future__ import annotations

from datetime import time
from typing import Any

from django.db import IntegrityError, transaction

from accounts.models import User
from core.errors import Conflict, ValidationFailed
from tenants.models import Tenant
from workflows.models import BusinessCalendar

CALENDAR_FIELDS = (
    "name",
    "time_zone",
    "working_days",
    "start_time",
    "end_time",
    "holidays",
    "is_default",
)


def calendar_defaults() -> dict[str, Any]:
    """What a field left out of a create (or a PUT) is."""
    return {
        "working_days": [1, 2, 3, 4, 5],
        "start_time": time(9),
        "end_time": time(17),
        "holidays": [],
        "is_default": False,
    }


def _name_taken(tenant: Tenant, name: str, exclude_id: int | None) -> bool:
    clash = BusinessCalendar.objects.for_tenant(tenant).filter(name=name)
    if exclude_id is not None:
        clash = clash.exclude(pk=exclude_id)
    return clash.exists()


def _name_error(name: str) -> ValidationFailed:
    return ValidationFailed(
        f"A calendar named '{name}' already exists in this tenant.", "unique", field="name"
    )


def _save(*, tenant: Tenant, calendar: BusinessCalendar, actor: User) -> BusinessCalendar:
    if calendar.end_time <= calendar.start_time:
        raise ValidationFailed(
            "end_time must be after start_time.", "end_before_start", field="end_time"
        )
    exclude_id = calendar.pk
    if _name_taken(tenant, calendar.name, exclude_id):
        raise _name_error(calendar.name)
    try:
        # A savepoint even in a request: the handler below reads again after the error.
        with transaction.atomic():
            if calendar.is_default:
                BusinessCalendar.objects.for_tenant(tenant).filter(is_default=True).exclude(
                    pk=exclude_id
                ).update(is_default=False, updated_by=actor)
            calendar.updated_by = actor
            calendar.save()
    except IntegrityError as exc:  # a concurrent write took the name or the default mark
        if _name_taken(tenant, calendar.name, exclude_id):
            raise _name_error(calendar.name) from exc
        raise Conflict(
            "Another calendar was made the default at the same time; try again.",
            "default_taken",
        ) from exc
    return calendar


def calendar_create(*, tenant: Tenant, data: dict[str, Any], actor: User) -> BusinessCalendar:
    values = {**calendar_defaults(), **{k: v for k, v in data.items() if k in CALENDAR_FIELDS}}
    calendar = BusinessCalendar(tenant=tenant, created_by=actor, **values)
    return _save(tenant=tenant, calendar=calendar, actor=actor)


def calendar_update(
    *,
    tenant: Tenant,
    calendar: BusinessCalendar,
    data: dict[str, Any],
    actor: User,
    replace: bool = False,
) -> BusinessCalendar:
    """`replace` (a PUT): fields left out go back to their defaults."""
    if replace:
        data = {**calendar_defaults(), **data}
    for key, value in data.items():
        if key in CALENDAR_FIELDS:
            setattr(calendar, key, value)
    return _save(tenant=tenant, calendar=calendar, actor=actor)


def calendar_delete(*, tenant: Tenant, calendar: BusinessCalendar, actor: User) -> None:
    BusinessCalendar.objects.for_tenant(tenant).filter(pk=calendar.pk).delete()
