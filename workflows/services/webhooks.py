"""Webhook subscriptions: a tenant ADMIN's writes. The secret is made here, never taken."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from tenants.models import Tenant
from workflows.models import WebhookSubscription
from workflows.webhook_delivery import new_secret

EDITABLE = ("url", "events", "active", "description")


def subscription_create(
    *,
    tenant: Tenant,
    url: str,
    events: list[str],
    active: bool = True,
    description: str = "",
    actor: User,
) -> WebhookSubscription:
    return WebhookSubscription.objects.create(
        tenant=tenant,
        url=url,
        events=events,
        active=active,
        description=description,
        secret=new_secret(),
        created_by=actor,
        updated_by=actor,
    )


def subscription_update(
    *, subscription: WebhookSubscription, data: dict[str, Any], actor: User
) -> WebhookSubscription:
    changes = {key: value for key, value in data.items() if key in EDITABLE}
    for key, value in changes.items():
        setattr(subscription, key, value)
    subscription.updated_by = actor
    subscription.save(update_fields=[*changes, "updated_by", "updated_at"])
    return subscription


def subscription_rotate_secret(
    *, subscription: WebhookSubscription, actor: User
) -> WebhookSubscription:
    """A new secret; deliveries signed from now on use it (the old one stops verifying)."""
    subscription.secret = new_secret()
    subscription.updated_by = actor
    subscription.save(update_fields=["secret", "updated_by", "updated_at"])
    return subscription


def subscription_delete(*, subscription: WebhookSubscription) -> None:
    """Deletes it and its delivery log."""
    subscription.delete()
