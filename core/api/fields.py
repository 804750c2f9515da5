"""Input JSON that PostgreSQL can store, checked in one place for every JSON-valued field.

`jsonb` (and `text`) refuse U+0000, UTF-8 cannot encode a lone surrogate (`"\\ud800"` is valid
JSON), and a number too large for a float (`1e400`) parses as infinity, which JSON cannot carry.
Any of them reaching the database would be a 500; here they are a 400 naming the field.
"""

from __future__ import annotations

import json
from typing import Any

from rest_framework import serializers

from core.errors import ValidationFailed

MAX_JSON_BYTES = 64 * 1024
NULL_CHARACTER = "Null characters are not allowed."
NOT_STORABLE = "Only finite numbers and valid Unicode text are allowed."


def _has_null_character(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_null_character(k) or _has_null_character(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_null_character(item) for item in value)
    return False


def storable_json(value: Any, *, max_bytes: int = MAX_JSON_BYTES) -> None:
    """A validator: raises `ValidationError` unless PostgreSQL's jsonb can store `value`."""
    if _has_null_character(value):
        raise serializers.ValidationError(NULL_CHARACTER)
    try:
        encoded = json.dumps(value, allow_nan=False, ensure_ascii=False).encode()
    except (ValueError, TypeError, RecursionError) as exc:
        # Infinity/NaN (1e400 parses as inf); lone surrogates fail the UTF-8 encoding.
        raise serializers.ValidationError(NOT_STORABLE) from exc
    if len(encoded) > max_bytes:
        raise serializers.ValidationError(f"At most {max_bytes // 1024} KB of JSON.")


class StorableJSONField(serializers.JSONField):
    """`JSONField` whose value PostgreSQL can store (see `storable_json`)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["validators"] = [*kwargs.get("validators", []), storable_json]
        super().__init__(**kwargs)


class StorableDictField(serializers.DictField):
    """`DictField` (a JSON object) whose value PostgreSQL can store (see `storable_json`)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["validators"] = [*kwargs.get("validators", []), storable_json]
        super().__init__(**kwargs)


class IntegerField(serializers.IntegerField):
    """DRF's `IntegerField`, for ASCII digits only. `int()` takes '٣' and '１' but not '²';
    the API takes none of them, as its path converters do: one rule for every integer."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, str) and not data.isascii():
            self.fail("invalid")
        return super().to_internal_value(data)


class DecimalField(serializers.DecimalField):
    """DRF's `DecimalField`, for ASCII digits only (`Decimal('١')` is 1), like `IntegerField`."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and not data.isascii():
            self.fail("invalid")
        return super().to_internal_value(data)


def ascii_integer(value: str, *, field: str, max_digits: int = 18) -> int:
    """A query parameter as a non-negative integer of ASCII digits, or a 400 naming it."""
    if not (value.isascii() and value.isdigit()) or len(value) > max_digits:
        raise ValidationFailed("A valid integer is required.", field=field)
    return int(value)
