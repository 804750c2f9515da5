"""Application errors: services raise these, the API exception handler maps them to HTTP."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """Base for every error a service raises on purpose. `code` is stable for clients."""

    status_code = 400
    default_code = "invalid"

    def __init__(
        self,
        message: str,
        code: str | None = None,
        *,
        field: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field
        self.extra = extra or {}

    def as_errors(self) -> dict[str, Any]:
        if self.field:
            return {self.field: self.extra.get("errors") or [self.message]}
        if self.status_code == 400:
            return {"non_field_errors": [self.message]}
        return {"detail": self.message}


class ValidationFailed(ApplicationError):
    status_code = 400
    default_code = "invalid"


class NotFound(ApplicationError):
    """Missing, or owned by another tenant: callers cannot tell which."""

    status_code = 404
    default_code = "not_found"


class Forbidden(ApplicationError):
    status_code = 403
    default_code = "permission_denied"


class Conflict(ApplicationError):
    status_code = 409
    default_code = "conflict"


class Unprocessable(ApplicationError):
    status_code = 422
    default_code = "unprocessable"
