"""Handlers of the built-in automated actions: `send_email` and `webhook`.

Both carry the step run's idempotency key (a mail header; the `Idempotency-Key` HTTP header),
so a receiver can drop a repeat in the rare case where an effect happened but its commit did
not (a worker killed between the two).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone

from tenants.models import Tenant
from workflows.engine import webhooks
from workflows.engine.approvers import eligible_users
from workflows.engine.automation import ActionError, RetryableActionError, handler_context
from workflows.engine.templating import render_body, render_subject
from workflows.models import StepRun

SIGNATURE_HEADER = "X-Workflows-Signature"


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
        subject=render_subject(config.get("subject", ""), fields),
        body=render_body(config.get("body", ""), fields),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        headers={"X-Workflows-Idempotency-Key": str(step_run.idempotency_key)},
    )
    try:
        message.send(fail_silently=False)
    except OSError as exc:
        raise RetryableActionError(f"Mail server: {exc}") from exc
    return {"sent_to": recipients}


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook(*, step_run: StepRun) -> dict[str, Any]:
    config = step_run.config or {}
    url = config["url"]
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
    # One resolution, checked, and the connection made to what it returned (see webhooks).
    status = webhooks.post(
        url,
        body=body,
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Workflows-Webhook/1",
            SIGNATURE_HEADER: sign(secret, body),
            "Idempotency-Key": str(step_run.idempotency_key),
        },
        timeout_s=int(config.get("timeout_s", 10)),
    )
    return {"status_code": status}
