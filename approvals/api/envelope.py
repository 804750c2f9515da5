"""The approvals seed's success envelope, built here and nowhere else.

Errors get theirs from `core.api.exceptions` (every error under `/api/approvals/`); successes
are `{"success": true, ...payload}` and paginated lists add DRF's `count`/`next`/`previous`.
The `*_schema` helpers describe the same shapes to drf-spectacular.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.drainage import set_override
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from core.api.schema import ERROR_ENVELOPE


def success(*, status_code: int = status.HTTP_200_OK, **payload: Any) -> Response:
    return Response({"success": True, **payload}, status=status_code)


def success_page(*, view: Any, key: str, data: list[Any]) -> Response:
    """A page of `view`'s paginator as `{"success", "count", "next", "previous", key}`."""
    paginator = view.paginator
    return success(
        count=paginator.page.paginator.count,
        next=paginator.get_next_link(),
        previous=paginator.get_previous_link(),
        **{key: data},
    )


def success_schema(name: str, **fields: serializers.Field) -> Any:
    """An OpenAPI component `name` for `{"success": true, **fields}`; names are global.

    Marked as one object even on list operations: the envelope is not an array, and its
    pagination (if any) is already spelled out in its fields."""
    schema = inline_serializer(name=name, fields={"success": serializers.BooleanField(), **fields})
    set_override(schema, "many", False)
    return schema


def page_schema(name: str, key: str, item: serializers.Serializer) -> Any:
    return success_schema(
        name,
        count=serializers.IntegerField(),
        next=serializers.URLField(allow_null=True),
        previous=serializers.URLField(allow_null=True),
        **{key: item},
    )


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    descriptions = {
        400: "Invalid input: `errors` names each field and its messages.",
        401: "No or invalid bearer token.",
        403: "Your role may not do this (ADMIN writes).",
        404: "Missing, or another tenant's.",
        409: "Conflict: already decided, nothing pending, or a request still in flight.",
        422: "This Idempotency-Key was used with a different request.",
    }
    return {code: OpenApiResponse(ERROR_ENVELOPE, description=descriptions[code]) for code in codes}
