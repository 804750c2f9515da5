"""Request ids: taken from `X-Request-ID` or made up, echoed back and put on every log line."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        request.request_id = request_id  # type: ignore[attr-defined]
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


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
