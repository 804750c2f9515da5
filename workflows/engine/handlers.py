"""Handlers of the built-in automated actions: `send_email` and `webhook`.

Both carry the step run's idempotency key (a mail header; the `Idempotency-Key` HTTP header),
so a receiver can drop a repeat in the rare case where an effect happened but its commit did
not (a worker killed between the two).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import string
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone

from tenants.models import Tenant
from workflows.engine.approvers import eligible_users
from workflows.engine.automation import ActionError, RetryableActionError, handler_context
from workflows.models import StepRun

SIGNATURE_HEADER = "X-Workflows-Signature"


class _Fields(dict):
    """`{name}` in a template: a known field, else left as written."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(template: str, fields: dict[str, Any]) -> str:
    formatter = string.Formatter()
    try:
        return formatter.vformat(template, (), _Fields(fields))
    except (ValueError, IndexError, AttributeError, KeyError):
        return template  # a stray brace is text, not an error


def send_email(*, step_run: StepRun) -> dict[str, Any]:
    config = step_run.config or {}
    to = config.get("to") or {}
    if "emails" in to:
        recipients = list(to["emails"])
    else:
        users = eligible_users(step_run.tenant_id, to)
        if users is None:
            raise ActionError(f"Unknown recipients {sorted(to)}.")
        recipients = sorted(users.exclude(email="").values_list("email", flat=True))
    if not recipients:
        raise ActionError("No recipients: the group or role has no active users.")
    fields = handler_context(step_run)
    message = EmailMessage(
        subject=render(config.get("subject", ""), fields).replace("\n", " ")[:200],
        body=render(config.get("body", ""), fields),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        headers={"X-Workflows-Idempotency-Key": str(step_run.idempotency_key)},
    )
    try:
        message.send(fail_silently=False)
    except OSError as exc:
        raise RetryableActionError(f"Mail server: {exc}") from exc
    return {"sent_to": recipients}


def _check_target(url: str) -> None:
    """Server-side request forgery guard: no private, loopback or link-local targets."""
    host = urlsplit(url).hostname
    if not host:
        raise ActionError("The webhook URL has no host.")
    if settings.WEBHOOK_ALLOW_PRIVATE:
        return
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror as exc:
        raise RetryableActionError(f"Cannot resolve {host}: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if (
            address.is_private
            or address.is_loopback
            or address.is_link_local
            or address.is_multicast
            or address.is_reserved
            or address.is_unspecified
        ):
            raise ActionError(f"Refused: {host} resolves to a non-public address.")


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook(*, step_run: StepRun) -> dict[str, Any]:
    config = step_run.config or {}
    url = config["url"]
    _check_target(url)
    run = step_run.run
    payload = {
        "event": "step_run.execute",
        "tenant": step_run.tenant_id,
        "run": run.pk,
        "step_run": step_run.pk,
        "workflow": run.workflow_name,
        "step": step_run.name,
        "subject": handler_context(step_run),
        "attempt": step_run.attempts,
        "sent_at": timezone.now().isoformat(),
    }
    body = json.dumps(payload, sort_keys=True, default=str).encode()
    secret = Tenant.objects.values_list("webhook_secret", flat=True).get(pk=step_run.tenant_id)
    request = urllib.request.Request(  # noqa: S310  (scheme checked by the config serializer)
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Workflows-Webhook/1",
            SIGNATURE_HEADER: sign(secret, body),
            "Idempotency-Key": str(step_run.idempotency_key),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=int(config.get("timeout_s", 10))) as resp:  # noqa: S310
            status = resp.status
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code == 429:
            raise RetryableActionError(f"HTTP {exc.code} from {url}") from exc
        raise ActionError(f"HTTP {exc.code} from {url}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise RetryableActionError(f"Cannot reach {url}: {exc}") from exc
    return {"status_code": status}
