"""A tenant's business calendars: when due times counted in business hours can run."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from core.models import TenantScopedModel


def default_working_days() -> list[int]:
    return [1, 2, 3, 4, 5]


class BusinessCalendar(TenantScopedModel):
    """Working days (ISO weekdays, Monday 1) and hours in a time zone, and holidays.

    The arithmetic is `workflows.calendars` (pure); at most one calendar per tenant is the
    default, which a step counting business hours uses unless it names another."""

    name = models.CharField(max_length=200)
    time_zone = models.CharField(max_length=64, default="UTC")  # an IANA name
    working_days = models.JSONField(default=default_working_days)
    start_time = models.TimeField()
    end_time = models.TimeField()
    # [{"date": "2026-12-25", "name": "Christmas Day"}], sorted by date, one entry per date.
    holidays = models.JSONField(default=list, blank=True)
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="calendar_name_unique"),
            models.UniqueConstraint(
                fields=["tenant"],
                condition=Q(is_default=True),
                name="calendar_one_default_per_tenant",
            ),
        ]

    def __str__(self) -> str:
        return self.name
