"""`Idempotency-Key` for POST commands: a retry returns the first answer instead of acting again.

Same key and same request -> the stored status and body. Same key, different request -> 422.
Same key while the first request is still being processed -> 409. Keys are per tenant and user.
An error response is not stored (nothing was done), so the client may retry with the same key.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import Conflict, Unprocessable, ValidationFailed
from core.models import IdempotencyRecord

HEADER = "Idempotency-Key"
# Stored as text: PostgreSQL refuses NUL, and no other control character belongs in a key.
_VALID_KEY = re.compile(r"[\x20-\x7e]{1,255}")
STALE_AFTER = timedelta(minutes=5)  # an in-flight claim older than this was a crashed request


def _request_hash(request: Request) -> str:
    body = json.dumps(request.data, sort_keys=True, cls=DjangoJSONEncoder, default=str)
    raw = f"{request.method} {request.path}\n{body}"
    return hashlib.sha256(raw.encode()).hexdigest()


def _claim(request: Request, key: str, digest: str) -> tuple[IdempotencyRecord, bool]:
    user = request.user
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                tenant_id=user.tenant_id, user=user, key=key, request_hash=digest
            )
        return record, True
    except IntegrityError:
        record = IdempotencyRecord.objects.for_tenant(user.tenant_id).get(user=user, key=key)
        if (
            record.state == IdempotencyRecord.State.IN_FLIGHT
            and record.request_hash == digest
            and timezone.now() - record.updated_at > STALE_AFTER
        ):
            taken = IdempotencyRecord.objects.filter(
                pk=record.pk, updated_at=record.updated_at
            ).update(updated_at=timezone.now())
            return record, bool(taken)
        return record, False


def idempotent(method: Callable[..., Response]) -> Callable[..., Response]:
    """Decorates an APIView's `post`."""

    @wraps(method)
    def wrapper(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if key is None or request.user.tenant_id is None:
            return method(self, request, *args, **kwargs)
        if not _VALID_KEY.fullmatch(key) or not key.strip():
            raise ValidationFailed(
                "Must be 1 to 255 printable ASCII characters (no control characters).",
                field=HEADER,
            )
        digest = _request_hash(request)
        record, claimed = _claim(request, key, digest)
        if not claimed:
            if record.request_hash != digest:
                raise Unprocessable(
                    "This Idempotency-Key was used with a different request.", "key_reused"
                )
            if record.state == IdempotencyRecord.State.IN_FLIGHT:
                raise Conflict(
                    "A request with this Idempotency-Key is still in progress.", "in_flight"
                )
            response = Response(record.response_body, status=record.status_code)
            response["Idempotent-Replayed"] = "true"
            return response
        try:
            response = method(self, request, *args, **kwargs)
        except BaseException:
            # A service that joined the request's transaction failed: its rollback (pending,
            # no query may run before it) takes the claim with it.
            if not connection.needs_rollback:
                IdempotencyRecord.objects.filter(pk=record.pk).delete()
            raise
        if response.status_code >= 400:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return response
        body = json.loads(json.dumps(response.data, cls=DjangoJSONEncoder))
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            state=IdempotencyRecord.State.DONE,
            status_code=response.status_code,
            response_body=body,
            updated_at=timezone.now(),
        )
        return response

    return wrapper
