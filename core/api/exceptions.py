"""One exception handler for the whole API.

Application errors map to their status; DRF's own errors keep DRF's shape, except under
`/api/approvals/`, where every error (400, 401, 403, 404, 405, 409...) is wrapped in the
approvals seed's envelope `{"success": false, "errors": {...}}`.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import ApplicationError

logger = logging.getLogger("workflows.api")

ENVELOPE_PREFIXES = ("/api/approvals/",)


def uses_envelope(path: str) -> bool:
    return path.startswith(ENVELOPE_PREFIXES)


def envelope_errors(data: Any) -> dict[str, Any]:
    if isinstance(data, dict):
        return data
    if isinstance(data, list):
        return {"non_field_errors": data}
    return {"detail": data}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    request = context.get("request")
    if isinstance(exc, ApplicationError):
        response = Response(exc.as_errors(), status=exc.status_code)
    else:
        if isinstance(exc, Http404):
            exc = exceptions.NotFound()
        elif isinstance(exc, DjangoPermissionDenied):
            exc = exceptions.PermissionDenied()
        response = drf_exception_handler(exc, context)
    if response is None:
        view = context.get("view")
        logger.exception(
            "unhandled error in %s",
            type(view).__name__ if view else "view",
            extra={"path": getattr(request, "path", "")},
        )
        response = Response(
            {"detail": "Internal server error."}, status=status.HTTP_500_INTERNAL_SERVER_ERROR
        )
    if request is not None and uses_envelope(request.path):
        response.data = {"success": False, "errors": envelope_errors(response.data)}
    return response


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """handler404 for paths no route matches: JSON under /api/, the envelope under approvals."""
    body: dict[str, Any] = {"detail": "Not found."}
    if uses_envelope(request.path):
        body = {"success": False, "errors": body}
    return JsonResponse(body, status=404)


def json_server_error(request: HttpRequest) -> JsonResponse:
    body: dict[str, Any] = {"detail": "Internal server error."}
    if uses_envelope(request.path):
        body = {"success": False, "errors": body}
    return JsonResponse(body, status=500)
