"""One exception handler for the whole API.

Application errors map to their status; DRF's own errors keep DRF's shape, except under
`/api/approvals/`, where every error (400, 401, 403, 404, 405, 409...) is wrapped in the
approvals seed's envelope `{"success": false, "errors": {...}}`. A lost database connection
is a 503 with `Retry-After` (the next request reconnects), a body over the limit a 413, and
Django's refusals of a request (too many fields...) a 400: never a 500.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.api.parsers import too_large_message
from core.errors import ApplicationError

logger = logging.getLogger("workflows.api")

ENVELOPE_PREFIXES = ("/api/approvals/",)
DB_RETRY_AFTER_SECONDS = 2
DB_UNAVAILABLE = "The database is unavailable; retry shortly."
# SQLSTATEs of a connection the server ended: class 08 (connection exception), admin and crash
# shutdown (pg_terminate_backend, restart), and "cannot connect now" (starting up).
_CONNECTION_SQLSTATES = ("57P01", "57P02", "57P03")


def uses_envelope(path: str) -> bool:
    return path.startswith(ENVELOPE_PREFIXES)


def envelope_errors(data: Any) -> dict[str, Any]:
    if isinstance(data, dict):
        return data
    if isinstance(data, list):
        return {"non_field_errors": data}
    return {"detail": data}


def is_connection_failure(exc: BaseException) -> bool:
    """A database error that means the connection is gone (or could not be made), as opposed
    to one about the statement (a deadlock, a lock or statement timeout, bad data)."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate is None:
        # psycopg gives no SQLSTATE when the client lost the server or never reached it;
        # other drivers' errors without one (sqlite's "database is locked") are not that.
        return cause is None or type(cause).__module__.startswith("psycopg")
    return sqlstate.startswith("08") or sqlstate in _CONNECTION_SQLSTATES


def error_body(path: str, errors: dict[str, Any]) -> dict[str, Any]:
    return {"success": False, "errors": errors} if uses_envelope(path) else errors


def database_unavailable(request: HttpRequest, exc: BaseException) -> JsonResponse:
    """The 503 of a lost connection, for errors raised outside DRF's handler."""
    logger.warning("database connection lost: %s", exc, extra={"path": request.path})
    response = JsonResponse(error_body(request.path, {"detail": DB_UNAVAILABLE}), status=503)
    response["Retry-After"] = str(DB_RETRY_AFTER_SECONDS)
    return response


def request_refused(request: HttpRequest, exc: SuspiciousOperation) -> JsonResponse:
    """413 for a body over the limit, 400 for Django's other refusals of a request."""
    if isinstance(exc, RequestDataTooBig):
        return JsonResponse(error_body(request.path, {"detail": too_large_message()}), status=413)
    return JsonResponse(error_body(request.path, {"detail": str(exc)}), status=400)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    request = context.get("request")
    if isinstance(exc, ApplicationError):
        response = Response(exc.as_errors(), status=exc.status_code)
    elif is_connection_failure(exc):
        logger.warning("database connection lost: %s", exc)
        response = Response(
            {"detail": DB_UNAVAILABLE},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(DB_RETRY_AFTER_SECONDS)},
        )
    elif isinstance(exc, RequestDataTooBig):
        response = Response(
            {"detail": too_large_message()}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        )
    elif isinstance(exc, SuspiciousOperation):  # e.g. TooManyFieldsSent from the query string
        response = Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
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
    """handler500: also reached by errors raised in middleware, outside any view."""
    exc = sys.exc_info()[1]
    if exc is not None and is_connection_failure(exc):
        return database_unavailable(request, exc)
    body: dict[str, Any] = {"detail": "Internal server error."}
    if uses_envelope(request.path):
        body = {"success": False, "errors": body}
    return JsonResponse(body, status=500)
