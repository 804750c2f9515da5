"""Reads of webhook subscriptions and their delivery logs (tenant-scoped)."""

from __future__ import annotations

from django.db.models import QuerySet

from core.errors import NotFound
from tenants.models import Tenant
from workflows.models import WebhookDelivery, WebhookSubscription


def subscription_list(*, tenant: Tenant) -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.filter(tenant=tenant).order_by("id")


def subscription_get(*, tenant: Tenant, subscription_id: int) -> WebhookSubscription:
    found = subscription_list(tenant=tenant).filter(pk=subscription_id).first()
    if found is None:
        raise NotFound("Not found.")
    return found


def delivery_list(
    *, tenant: Tenant, subscription: WebhookSubscription
) -> QuerySet[WebhookDelivery]:
    """Newest first (the log's index: tenant, subscription, -id)."""
    return WebhookDelivery.objects.filter(tenant=tenant, subscription=subscription).order_by("-id")
