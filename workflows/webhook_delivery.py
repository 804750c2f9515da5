"""Webhook subscriptions' deliveries: `enqueue` an engine event, `attempt` one signed POST.

The lead registers `attempt` as a job under the engine's retry policy: "retry" asks for
another attempt later, and when the policy gives up, `give_up` marks the delivery failed.

Each POST carries (see README "Webhook subscriptions" for a verification snippet):
- `X-Workflows-Event`: the event (`task.created`, ...);
- `X-Workflows-Delivery` (and `Idempotency-Key`): the delivery key, the same on every retry;
- `X-Workflows-Timestamp`: Unix seconds when this attempt was signed;
- `X-Workflows-Signature`: `sha256=` + hex HMAC-SHA256, keyed with the subscription's secret,
  of `{timestamp}.{body}` (the raw body bytes).

Requests go through the webhook steps' SSRF guard (`workflows.engine.webhooks`): the host is
resolved once, private addresses are refused unless `WEBHOOK_ALLOW_PRIVATE`, the connection
goes to the address checked, and redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Literal

import httpx
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from core.tenancy import set_db_context
from workflows.engine import webhooks
from workflows.engine.automation import ActionError, RetryableActionError
from workflows.models import DeliveryStatus, WebhookDelivery, WebhookEvent, WebhookSubscription

AttemptResult = Literal["ok", "retry", "failed"]

EVENTS: tuple[str, ...] = tuple(WebhookEvent.values)
SIGNATURE_HEADER = "X-Workflows-Signature"
TIMESTAMP_HEADER = "X-Workflows-Timestamp"
EVENT_HEADER = "X-Workflows-Event"
DELIVERY_HEADER = "X-Workflows-Delivery"
TIMEOUT_S = 10.0
KEY_MAX = 200
ERROR_MAX = 1000


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=` + hex HMAC-SHA256 of `{timestamp}.{body}` keyed with `secret`."""
    message = str(int(timestamp)).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def body_of(delivery: WebhookDelivery) -> bytes:
    """The JSON body, the same bytes on every attempt."""
    envelope = {
        "event": delivery.event,
        "delivery": delivery.key,
        "tenant": delivery.tenant_id,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
    return json.dumps(envelope, sort_keys=True, separators=(",", ":"), default=str).encode()


@contextmanager
def _tenant_transaction(tenant_id: int, *, savepoint: bool = True) -> Iterator[None]:
    """A transaction with the tenant's database context; inside the caller's transaction, the
    caller's context (which names the tenant already) is kept (`savepoint=False`: a read,
    which needs no savepoint of its own there)."""
    outermost = not connection.in_atomic_block
    with transaction.atomic(savepoint=savepoint):
        if outermost:
            set_db_context(tenant_id=tenant_id)
        yield


def subscribers(tenant_id: int, event: str) -> list[int]:
    """The active subscriptions of the tenant that want `event` (one query)."""
    with _tenant_transaction(tenant_id, savepoint=False):
        subscriptions = WebhookSubscription.objects.filter(
            tenant_id=tenant_id, active=True
        ).values_list("pk", "events")
        # (JSON containment differs across databases: filtered here)
        return [pk for pk, events in subscriptions if event in events]


def enqueue(
    tenant_id: int,
    event: str,
    payload: dict[str, Any],
    key: str,
    subscription_ids: list[int] | None = None,
) -> list[int]:
    """One delivery per active subscription of the tenant to `event` (`subscription_ids`, if
    the caller read `subscribers` already); the ids of those created now (an event enqueued
    again with the same `key` creates nothing: delivered once).

    Call it in the transaction that emits the event (so deliveries exist iff it commits) and
    schedule `attempt` for each id returned, after commit.
    """
    if event not in EVENTS:
        raise ValueError(f"Unknown webhook event {event!r}.")
    if not key or len(key) > KEY_MAX:
        raise ValueError(f"A delivery key is 1 to {KEY_MAX} characters.")
    json.dumps(payload)  # raises now, not at the first attempt
    if subscription_ids is None:
        subscription_ids = subscribers(tenant_id, event)
    created: list[int] = []
    with _tenant_transaction(tenant_id):
        for subscription_id in subscription_ids:
            try:
                with transaction.atomic():
                    delivery = WebhookDelivery.objects.create(
                        tenant_id=tenant_id,
                        subscription_id=subscription_id,
                        event=event,
                        key=key,
                        payload=payload,
                    )
            except IntegrityError:
                continue  # this key was enqueued before
            created.append(delivery.pk)
    return created


def _post(
    url: str, headers: dict[str, str], body: bytes, timeout_s: float
) -> tuple[AttemptResult, int | None, str]:
    """One POST through the SSRF guard: (result, status code, error)."""
    try:
        target = webhooks.check_target(url)
    except RetryableActionError as exc:  # the name did not resolve: may pass later
        return "retry", None, str(exc)
    except ActionError as exc:  # refused (a private address) or not a usable URL
        return "failed", None, str(exc)
    client = httpx.Client(
        # The guard's transport: connects to the addresses checked above, nothing else.
        transport=webhooks._PinnedTransport(target.addresses),
        timeout=httpx.Timeout(timeout_s),
        follow_redirects=False,
        trust_env=False,
    )
    try:
        with client, client.stream("POST", url, content=body, headers=headers) as response:
            status = response.status_code  # the body is never read
            location = response.headers.get("location", "")
    except httpx.InvalidURL as exc:
        return "failed", None, f"Bad URL: {exc}"
    except httpx.HTTPError as exc:  # connect, timeout, protocol
        return "retry", None, f"Cannot reach the URL: {exc or type(exc).__name__}"
    if 200 <= status < 300:
        return "ok", status, ""
    if 300 <= status < 400:
        where = f" (Location: {location[:200]})" if location else ""
        return "failed", status, f"HTTP {status}: redirects are not followed{where}."
    if status >= 500 or status == 429:
        return "retry", status, f"HTTP {status}"
    return "failed", status, f"HTTP {status}"


def attempt(delivery_id: int, *, tenant_id: int, timeout_s: float = TIMEOUT_S) -> AttemptResult:
    """Makes one signed POST of the delivery and records it: "ok" (2xx), "retry" (network
    error, timeout, 5xx, 429) or "failed" (any other answer, a refused or unusable URL, an
    inactive or deleted subscription). A delivery already delivered or failed is not sent
    again. No transaction is held during the request."""
    with _tenant_transaction(tenant_id):
        delivery = (
            WebhookDelivery.objects.filter(tenant_id=tenant_id, pk=delivery_id)
            .select_related("subscription")
            .first()
        )
        if delivery is None:
            return "failed"
        if delivery.status == DeliveryStatus.DELIVERED:
            return "ok"
        if delivery.status == DeliveryStatus.FAILED:
            return "failed"
        subscription = delivery.subscription
        if not subscription.active:
            _record(delivery, "failed", None, "The subscription is inactive.", count=False)
            return "failed"
        body = body_of(delivery)
        url, secret = subscription.url, subscription.secret
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Workflows-Webhook/1",
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: delivery.key,
        "Idempotency-Key": delivery.key,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }
    result, status, error = _post(url, headers, body, timeout_s)
    with _tenant_transaction(tenant_id):
        _record(delivery, result, status, error)
    return result


def _record(
    delivery: WebhookDelivery,
    result: AttemptResult,
    status: int | None,
    error: str,
    *,
    count: bool = True,
) -> None:
    now: datetime = timezone.now()
    values: dict[str, Any] = {
        "status": {
            "ok": DeliveryStatus.DELIVERED,
            "retry": DeliveryStatus.RETRYING,
            "failed": DeliveryStatus.FAILED,
        }[result],
        "last_error": error[:ERROR_MAX],
    }
    if count:
        values.update(attempts=F("attempts") + 1, last_status_code=status, last_attempt_at=now)
    if result == "ok":
        values["delivered_at"] = now
    # Never over a final state a concurrent attempt recorded first.
    WebhookDelivery.objects.filter(
        tenant_id=delivery.tenant_id,
        pk=delivery.pk,
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING],
    ).update(**values)


def give_up(delivery_id: int, *, tenant_id: int, reason: str = "") -> None:
    """Marks a delivery failed for good (the retry policy ran out of attempts)."""
    with _tenant_transaction(tenant_id):
        WebhookDelivery.objects.filter(
            tenant_id=tenant_id,
            pk=delivery_id,
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING],
        ).update(
            status=DeliveryStatus.FAILED,
            last_error=(reason or "Gave up after the last retry.")[:ERROR_MAX],
        )
