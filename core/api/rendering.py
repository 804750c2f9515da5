"""Responses rendered without DRF's per-instance costs, with its output.

DRF's DateTimeField asks `timezone.get_current_timezone()` (a context-local lookup) for every
value it writes, and a ModelSerializer builds its fields from the model for every instance
(1.5 ms for a transfer). A list page of 50 transfers with their chains writes about 600
timestamps: together a third of the page's CPU, and a tenth of an approval's.
`iso_timestamps` reads the time zone once per response; `RowRenderer` builds a serializer's
fields once per process and runs DRF's own loop over them. The serializer stays what the
OpenAPI schema documents; each use has a test that the two outputs are equal."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject, PrimaryKeyRelatedField
from rest_framework.settings import api_settings

Timestamp = Callable[[datetime | None], str | None]
_ZERO = timedelta(0)
_UTC = {"UTC", "Etc/UTC", "Z", "Zulu", "GMT"}


def iso_timestamps() -> Timestamp:
    """A function writing a timestamp exactly as DateTimeField() would now (None: None)."""
    zone = timezone.get_current_timezone() if settings.USE_TZ else None
    field = serializers.DateTimeField(**({"default_timezone": zone} if zone else {}))
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    if zone is None or not isinstance(output_format, str) or output_format.lower() != ISO_8601:
        return lambda value: None if value is None else field.to_representation(value)

    utc = str(zone) in _UTC and datetime(2000, 1, 1, tzinfo=zone).utcoffset() == _ZERO

    def write(value: datetime | None) -> str | None:
        # What the field does with an aware value (every value the database gives), without
        # its lookups per call; anything else goes through the field.
        if value is None:
            return None
        if value.tzinfo is None or not isinstance(value, datetime):
            return field.to_representation(value)
        if utc and value.utcoffset() == _ZERO:  # what the database gives: no conversion
            return value.replace(tzinfo=None).isoformat() + "Z"
        try:
            text = value.astimezone(zone).isoformat()
        except OverflowError:
            return field.to_representation(value)  # the field's own error
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return write


# Fields whose to_representation gives a value of this exact type back unchanged (DRF's own
# method, not a subclass's): such a value is written as read.
_PLAIN: dict[type[serializers.Field], type] = {
    serializers.CharField: str,
    serializers.IntegerField: int,
    serializers.BooleanField: bool,
}
_MISSING = object()


def _plain_type(field: serializers.Field) -> type | None:
    for base, kind in _PLAIN.items():
        if isinstance(field, base) and type(field).to_representation is base.to_representation:
            return kind
    return None


class RowRenderer:
    """`serializer_class(rows, many=True).data` for read-only output, its fields built once.

    Fields are stateless in `to_representation` but for two kinds, handled here: timestamps
    (written with the response's `iso_timestamps`) and SerializerMethodFields (the caller
    passes a function per name, given the row and the timestamp writer)."""

    def __init__(self, serializer_class: type[serializers.Serializer]) -> None:
        self.serializer_class = serializer_class
        self._plan: list[tuple[str, str, serializers.Field, type | None]] | None = None

    def plan(self) -> list[tuple[str, str, serializers.Field, type | None]]:
        """(name, kind, field, the type a "plain" field writes as read) per output field."""
        if self._plan is None:  # on first use: the app registry is ready by then
            plan = []
            for name, field in self.serializer_class().fields.items():
                if field.write_only:
                    continue
                plain = None
                if isinstance(field, serializers.SerializerMethodField):
                    kind = "method"
                elif isinstance(field, serializers.DateTimeField):
                    kind = "timestamp"
                elif len(field.source_attrs) != 1:
                    kind = "field"
                elif isinstance(field, PrimaryKeyRelatedField) and field.pk_field is None:
                    kind = "pk"
                else:
                    plain = _plain_type(field)
                    kind = "field" if plain is None else "plain"
                plan.append((name, kind, field, plain))
            self._plan = plan
        return self._plan

    def render(
        self, rows: Iterable[Any], methods: dict[str, Callable[[Any, Timestamp], Any]]
    ) -> list[dict[str, Any]]:
        timestamp = iso_timestamps()
        plan = self.plan()
        out = []
        for row in rows:
            data: dict[str, Any] = {}
            is_object = not isinstance(row, Mapping)  # DRF reads a mapping's keys instead
            for name, kind, field, plain in plan:
                if kind == "method":
                    data[name] = methods[name](row, timestamp)
                    continue
                if is_object and kind == "pk":  # a foreign key's id, as PKOnlyObject reads it
                    data[name] = row.serializable_value(field.source_attrs[0])
                    continue
                if is_object and plain is not None:
                    value = getattr(row, field.source_attrs[0], _MISSING)
                    if type(value) is plain:  # what to_representation gives back as is
                        data[name] = value
                        continue
                try:  # as Serializer.to_representation does
                    value = field.get_attribute(row)
                except SkipField:
                    continue
                if (value.pk if isinstance(value, PKOnlyObject) else value) is None:
                    data[name] = None
                elif kind == "timestamp":
                    data[name] = timestamp(value)
                else:
                    data[name] = field.to_representation(value)
            out.append(data)
        return out
