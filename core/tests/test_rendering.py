"""`iso_timestamps` writes what DRF's DateTimeField writes, for every kind of value."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.utils import timezone as django_timezone
from rest_framework import serializers

from core.api.rendering import iso_timestamps

VALUES = [
    None,
    datetime(2026, 12, 4, 16, 20, 59, tzinfo=UTC),
    datetime(2026, 12, 4, 16, 20, 59, 123456, tzinfo=UTC),
    datetime(2026, 12, 4, 16, 20, 59, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(2026, 3, 29, 1, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Paris")),
    datetime(2026, 12, 4, 16, 20, 59),  # naive: made aware in the current zone
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
]


def drf(value):
    zone = django_timezone.get_current_timezone()
    field = serializers.DateTimeField(default_timezone=zone)
    return None if value is None else field.to_representation(value)


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "America/St_Johns"])
@pytest.mark.parametrize("value", VALUES, ids=str)
def test_iso_timestamps_write_what_the_field_writes(zone, value):
    with django_timezone.override(zoneinfo.ZoneInfo(zone)):
        assert outcome(iso_timestamps(), value) == outcome(drf, value)


def outcome(write, value):
    """What `write(value)` gives, or the error it raises (beyond datetime's range in a zone)."""
    try:
        return write(value)
    except serializers.ValidationError as exc:
        return ("error", exc.detail)


def test_a_custom_output_format_goes_through_the_field(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DATETIME_FORMAT": "%Y/%m/%d %H:%M"}
    value = datetime(2026, 12, 4, 16, 20, tzinfo=UTC)
    assert iso_timestamps()(value) == drf(value) == "2026/12/04 16:20"
