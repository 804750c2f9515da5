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
    datetime(2026, 12, 4, 9, 0, 0, 5, tzinfo=zoneinfo.ZoneInfo("Europe/London")),  # offset 0
    datetime(2026, 12, 4, 16, 20, 59),  # naive: made aware in the current zone
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
]


def drf(value):
    zone = django_timezone.get_current_timezone()
    field = serializers.DateTimeField(default_timezone=zone)
    return None if value is None else field.to_representation(value)


ZONES = ["UTC", "Etc/UTC", "Europe/London", "Europe/Paris", "America/St_Johns"]


@pytest.mark.parametrize("zone", ZONES)
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


class Shouting(serializers.CharField):
    def to_representation(self, value):
        return str(value).upper()


class UserRow(serializers.Serializer):
    email = serializers.EmailField(read_only=True)
    full_name = Shouting(read_only=True)  # its own to_representation: never read as is
    role = serializers.ChoiceField(choices=["ADMIN", "AGENT"], read_only=True)
    is_active = serializers.BooleanField(read_only=True)
    id = serializers.IntegerField(read_only=True)
    tenant = serializers.PrimaryKeyRelatedField(read_only=True)
    tenant_name = serializers.CharField(source="tenant.name", read_only=True)  # dotted
    display = serializers.CharField(source="get_full_name", read_only=True)  # a callable
    created_at = serializers.DateTimeField(read_only=True)
    label = serializers.SerializerMethodField()

    def get_label(self, row):
        return f"<{row.email}>"


def test_row_renderer_writes_what_the_serializer_writes():
    from accounts.models import Role, User
    from core.api.rendering import RowRenderer
    from tenants.models import Tenant

    tenant = Tenant(pk=5, name="Acme", slug="acme")
    rows = [
        User(pk=1, email="ann@example.org", full_name="Ann", role=Role.ADMIN, tenant=tenant),
        User(pk=2, email="bo@example.org", full_name="", role="AGENT", is_active=False),
        User(pk=3, email="cy@example.org", full_name="Cy", role="AGENT", tenant=tenant),
    ]
    rows[2].created_at = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    rows[2].pk = 3  # an int, as read; a str id goes through the field
    rows[1].id = "2"
    expected = UserRow(rows, many=True).data
    ours = RowRenderer(UserRow).render(rows, {"label": lambda row, _: f"<{row.email}>"})
    assert ours == [dict(item) for item in expected]
    assert [row["id"] for row in ours] == [1, 2, 3]  # "2" written as the field writes it
    assert ours[0]["full_name"] == "ANN"
    assert ours[0]["role"] == "ADMIN"
    assert [row["tenant"] for row in ours] == [5, None, 5]
