"""OpenAPI generation: every error an operation can answer is documented, with its body.

`AutoSchema` adds what a view's `extend_schema` left out, from what the view is:
400 when it reads a body or query parameters, 401 always (a token is required, or is what
the operation checks), 403 when a permission beyond "authenticated" applies, 404 when the
path names an object or the list is paginated (`?page=` past the end), 409 and 422 when the
operation takes an `Idempotency-Key`, 429 when it is throttled, 413 when it reads a body
(over `API_MAX_BODY_BYTES`), 503 always (the database connection was lost). Bodies follow
`core.api.exceptions`: DRF's shape (`{"detail": ...}`, or field -> messages for a 400), and
under `/api/approvals/` the envelope `{"success": false, "errors": {...}}`.

Response headers: `Retry-After` on every 429 and 503, `Idempotent-Replayed` on the success
answers of an operation that takes an `Idempotency-Key`. `strict_oas30_hook` keeps the
document strict OpenAPI 3.0 (see there).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.authentication import SessionScheme
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import permissions, serializers

from core.api.exceptions import uses_envelope

IDEMPOTENCY_HEADER = "Idempotency-Key"

ERROR_DETAIL = inline_serializer(name="ErrorDetail", fields={"detail": serializers.CharField()})
ERROR_ENVELOPE = inline_serializer(
    name="ApprovalsErrorEnvelope",
    fields={
        "success": serializers.BooleanField(default=False),
        "errors": serializers.DictField(
            help_text="Field name (or `non_field_errors` / `detail`) to the messages."
        ),
    },
)
DESCRIPTIONS = {
    400: "Invalid input: each field named, with its messages.",
    401: "No, invalid or expired token (or credentials).",
    403: "Your role may not do this.",
    404: "Missing, or another tenant's (or a page past the end).",
    409: "Conflict with the current state, or a request with this Idempotency-Key in flight.",
    422: "This Idempotency-Key was used with a different request.",
    413: "The request body is larger than the server accepts (`API_MAX_BODY_BYTES`).",
    429: "Too many requests: retry after the `Retry-After` seconds.",
    503: "The database connection was lost: retry after the `Retry-After` seconds.",
}
NOT_A_RESTRICTION = (permissions.AllowAny, permissions.IsAuthenticated)
# Response headers, once in `components/headers` (added by `strict_oas30_hook`).
HEADERS = {
    "RetryAfter": {
        "schema": {"type": "integer", "minimum": 0},
        "required": True,
        "description": "Seconds to wait before retrying.",
    },
    "IdempotentReplayed": {
        "schema": {"type": "string", "enum": ["true"]},
        "description": "Present when this is the stored answer to an earlier request with the "
        "same Idempotency-Key (nothing was done again).",
    },
}
# For views that page by hand (an envelope, not a `list` action): spectacular adds these
# only to list actions.
PAGE_PARAMETERS = [
    OpenApiParameter("page", int, OpenApiParameter.QUERY, description="Page number, from 1."),
    OpenApiParameter(
        "page_size", int, OpenApiParameter.QUERY, description="Items per page (at most 200)."
    ),
]


def error_response(code: int, *, envelope: bool = False) -> OpenApiResponse:
    """The documented body of an error answer with this status code."""
    if envelope:
        body: Any = ERROR_ENVELOPE
    elif code == 400:
        body = OpenApiTypes.OBJECT
    else:
        body = ERROR_DETAIL
    return OpenApiResponse(body, description=DESCRIPTIONS[code])


class TenantJWTScheme(SimpleJWTScheme):
    """Bearer JWT, as `SimpleJWTScheme` describes it, for our subclass of its authentication."""

    target_class = "accounts.authentication.TenantJWTAuthentication"
    name = "jwtAuth"


class TenantSessionScheme(SessionScheme):
    """The console's session cookie (`POST /api/auth/session/`); unsafe methods need CSRF."""

    target_class = "accounts.authentication.TenantSessionAuthentication"
    name = "cookieAuth"
    priority = 0

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            **super().get_security_definition(auto_schema),
            "description": "Session cookie set by `POST /api/auth/session/` (the web console). "
            "POST, PUT, PATCH and DELETE also need the `X-CSRFToken` header, whose value is "
            "the `csrftoken` cookie (`GET /api/auth/csrf/` sets it). API clients use `jwtAuth`.",
        }


class AutoSchema(SpectacularAutoSchema):
    def _error_codes(self, parameters: list[dict[str, Any]]) -> list[int]:
        codes = [401]
        has_query = any(p.get("in") == "query" for p in parameters)
        if self.method in ("POST", "PUT", "PATCH") or has_query:
            codes.append(400)
        if self.method in ("POST", "PUT", "PATCH"):
            codes.append(413)
        if any(
            not isinstance(permission, NOT_A_RESTRICTION)
            for permission in self.view.get_permissions()
        ):
            codes.append(403)
        if "{" in self.path or self._is_paginated():
            codes.append(404)
        if any(p.get("in") == "header" and p.get("name") == IDEMPOTENCY_HEADER for p in parameters):
            codes.extend([409, 422])
        if self.view.get_throttles():
            codes.append(429)
        codes.append(503)
        return codes

    def _is_paginated(self) -> bool:
        return (
            self.method == "GET"
            and self._is_list_view()
            and getattr(self.view, "pagination_class", None) is not None
        )

    def _takes_idempotency_key(self) -> bool:
        return any(
            isinstance(p, OpenApiParameter)
            and p.name == IDEMPOTENCY_HEADER
            and p.location == OpenApiParameter.HEADER
            for p in self.get_override_parameters()
        )

    def _get_response_headers_for_code(self, status_code: Any, direction: Any = "response") -> Any:
        headers = super()._get_response_headers_for_code(status_code, direction)
        code = str(status_code)
        if code in ("429", "503"):
            headers.setdefault("Retry-After", {"$ref": "#/components/headers/RetryAfter"})
        if code.startswith("2") and self._takes_idempotency_key():
            headers.setdefault(
                "Idempotent-Replayed", {"$ref": "#/components/headers/IdempotentReplayed"}
            )
        return headers

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        envelope = uses_envelope(self.path)
        for code in self._error_codes(self._get_parameters()):
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    error_response(code, envelope=envelope), str(code), direction=direction
                )
        return responses


def strict_oas30_hook(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Rewrites `{allOf: [{$ref: X}], nullable: true}` as a nullable copy of X, moves `nullable`
    beside `oneOf`/`anyOf` into one typed branch, and adds `HEADERS`.

    Spectacular renders a nullable nested serializer so, but in OpenAPI 3.0 `nullable` only
    widens a `type` beside it: strict validators then reject every `null` (e.g.
    `ChainItem.current_step`). A nullable inline object is valid 3.0 that generators read.
    """
    components = result.get("components", {}).get("schemas", {})

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            node = {key: rewrite(value) for key, value in node.items()}
            all_of = node.get("allOf")
            if node.get("nullable") and isinstance(all_of, list) and len(all_of) == 1:
                ref = all_of[0].get("$ref", "")
                target = components.get(ref.rsplit("/", 1)[-1]) if ref else None
                if target is not None:
                    rest = {k: v for k, v in node.items() if k not in ("allOf", "nullable")}
                    inline = {**rewrite(target), **rest, "nullable": True}
                    if "enum" in inline and None not in inline["enum"]:
                        inline["enum"] = [*inline["enum"], None]  # 3.0.3: null must be listed
                    return inline
            for key in ("oneOf", "anyOf"):
                branches = node.get(key)
                if node.get("nullable") and "type" not in node and isinstance(branches, list):
                    typed = next((i for i, b in enumerate(branches) if "type" in b), None)
                    if typed is not None:
                        # `null` then matches exactly one branch, as `oneOf` needs.
                        node = {k: v for k, v in node.items() if k != "nullable"}
                        node[key] = [
                            {**b, "nullable": True} if i == typed else b
                            for i, b in enumerate(branches)
                        ]
            return node
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        return node

    result.setdefault("components", {}).setdefault("headers", {}).update(HEADERS)
    result["paths"] = rewrite(result.get("paths", {}))
    if components:
        result["components"]["schemas"] = {
            name: rewrite(schema) for name, schema in components.items()
        }
    return result
