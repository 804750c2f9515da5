"""Request ids and the access log: one line per request, with the fields to search by.

`X-Request-ID` is taken from a trusted proxy (`TRUSTED_PROXIES`) when it is a plain token, else
made up; either way it is echoed back, put on every log line of the request and in the audit
context. A client's own id is never believed: it could pin its requests on someone else's.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.utils.encoding import escape_uri_path
from django.utils.functional import SimpleLazyObject, empty

from core.logging import ContextFilter, close_scope, current_scope, open_scope, request_id_var

__all__ = ["RequestIdLogFilter", "RequestIdMiddleware", "request_id_var"]

access_logger = logging.getLogger("workflows.request")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_METHOD = re.compile(r"^[A-Z]{1,16}$")

RequestIdLogFilter = ContextFilter  # the filter's old name, for LOGGING dicts that use it


def _signed_in_user(request: HttpRequest) -> Any:
    """The request's user if something authenticated it; a session user nobody looked at is
    not loaded here (that would be a query after the request's transaction)."""
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        user = None if user._wrapped is empty else user._wrapped  # type: ignore[attr-defined]
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        from core.proxies import is_trusted_proxy  # not at import: LOGGING once loaded this

        self.get_response = get_response
        self.is_trusted_proxy = is_trusted_proxy

    def request_id(self, request: HttpRequest) -> str:
        incoming = request.headers.get("X-Request-ID", "")
        if _SAFE_ID.match(incoming) and self.is_trusted_proxy(request.META.get("REMOTE_ADDR")):
            return incoming
        return uuid.uuid4().hex

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = self.request_id(request)
        token = request_id_var.set(request_id)
        scope = open_scope()
        request.request_id = request_id  # type: ignore[attr-defined]
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            self.log(request, response, (time.perf_counter() - started) * 1000)
        finally:
            close_scope(scope)
            request_id_var.reset(token)
        return response

    def log(self, request: HttpRequest, response: HttpResponse, duration_ms: float) -> None:
        fields = current_scope()  # tenant and user bound by core.tenancy, when the view did
        user = _signed_in_user(request)
        if user is not None:
            fields.setdefault("user_id", user.pk)
            fields.setdefault("tenant_id", getattr(user, "tenant_id", None))
        match = request.resolver_match
        method = request.method or ""
        method = method if _METHOD.match(method) else "-"
        path = escape_uri_path(request.path)  # %-encoded: no control character reaches a line
        status = response.status_code
        access_logger.info(
            "%s %s %s %.1fms",
            method,
            path,
            status,
            duration_ms,
            extra={
                "tenant_id": fields.get("tenant_id"),
                "user_id": fields.get("user_id"),
                "route": match.route if match is not None else None,
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": round(duration_ms, 2),
            },
        )


class RequestGuardMiddleware:
    """What no view should have to handle: a body over `API_MAX_BODY_BYTES` is a 413 before
    anything reads it (whatever its content type, login included), and a lost database
    connection or a request Django refuses, raised outside DRF's handler (the request's
    transaction, a plain view), is a 503 with `Retry-After` or a 400, not a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Imported here: this module is loaded by LOGGING, before the apps (and DRF) are ready.
        from core.api.exceptions import request_refused

        length = request.META.get("CONTENT_LENGTH") or ""
        if length.isascii() and length.isdigit():
            limit = settings.API_MAX_BODY_BYTES
            if len(length) > len(str(limit)) or int(length) > limit:
                return request_refused(request, RequestDataTooBig())
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from core.api.exceptions import database_unavailable, is_connection_failure, request_refused

        if is_connection_failure(exception):
            return database_unavailable(request, exception)
        if isinstance(exception, SuspiciousOperation):
            return request_refused(request, exception)
        return None
