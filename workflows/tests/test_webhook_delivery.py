"""`workflows.webhook_delivery`: one delivery per subscription and key, one signed POST per
attempt through the SSRF guard, classified ok / retry / failed. A local HTTP server answers."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket

import pytest

from workflows import webhook_delivery
from workflows.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from workflows.tests.webhook_server import WebhookServer

pytestmark = pytest.mark.django_db
PAYLOAD = {"task": 7, "run": 3, "name": "Approve 1"}


@pytest.fixture
def subscribe(tenant):
    def make(url="https://hooks.example.test/in", events=("task.created",), active=True, **kw):
        return WebhookSubscription.objects.create(
            tenant=kw.get("tenant", tenant),
            url=url,
            events=list(events),
            active=active,
            secret=webhook_delivery.new_secret(),
        )

    return make


def deliver(subscription, key="task.created:7", event="task.created"):
    ids = webhook_delivery.enqueue(subscription.tenant_id, event, PAYLOAD, key)
    assert len(ids) == 1
    return ids[0]


def attempt(delivery_id, tenant, **kwargs):
    return webhook_delivery.attempt(delivery_id, tenant_id=tenant.pk, **kwargs)


def verify(secret: str, headers: dict, body: bytes) -> bool:
    """The README's receiver check, written independently of the sender's code."""
    timestamp = headers["X-Workflows-Timestamp"]
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest("sha256=" + expected, headers["X-Workflows-Signature"])


def test_enqueue_makes_one_delivery_per_subscribed_active_subscription(
    subscribe, tenant, other_tenant
):
    wanted = [subscribe(), subscribe(events=["task.created", "run.failed"])]
    subscribe(events=["run.completed"])
    subscribe(active=False)
    subscribe(tenant=other_tenant)
    ids = webhook_delivery.enqueue(tenant.pk, "task.created", PAYLOAD, "task.created:7")
    deliveries = WebhookDelivery.objects.filter(pk__in=ids)
    assert sorted(d.subscription_id for d in deliveries) == sorted(s.pk for s in wanted)
    assert {d.status for d in deliveries} == {DeliveryStatus.PENDING}
    # The same event again (a retried emitter): nothing new.
    assert webhook_delivery.enqueue(tenant.pk, "task.created", PAYLOAD, "task.created:7") == []
    assert WebhookDelivery.objects.count() == 2
    with pytest.raises(ValueError, match="Unknown webhook event"):
        webhook_delivery.enqueue(tenant.pk, "task.sneezed", PAYLOAD, "k")
    with pytest.raises(ValueError, match="delivery key"):
        webhook_delivery.enqueue(tenant.pk, "task.created", PAYLOAD, "")


def test_a_subscribed_receiver_gets_each_event_once_per_key_signed(subscribe, tenant):
    with WebhookServer([200]) as server:
        subscription = subscribe(url=server.url)
        ids = [
            *webhook_delivery.enqueue(tenant.pk, "task.created", PAYLOAD, "task.created:7"),
            *webhook_delivery.enqueue(tenant.pk, "task.created", PAYLOAD, "task.created:7"),
            *webhook_delivery.enqueue(tenant.pk, "task.created", {"task": 8}, "task.created:8"),
        ]
        assert [attempt(i, tenant) for i in ids] == ["ok", "ok"]
        assert attempt(ids[0], tenant) == "ok"  # delivered already: not sent again
    assert len(server.requests) == 2
    request = server.requests[0]
    headers, body = request["headers"], request["body"]
    assert verify(subscription.secret, headers, body)
    assert not verify("whsec_wrong", headers, body)
    assert headers["X-Workflows-Event"] == "task.created"
    assert headers["X-Workflows-Delivery"] == "task.created:7"
    assert headers["Idempotency-Key"] == "task.created:7"
    assert headers["Content-Type"] == "application/json"
    sent = json.loads(body)
    assert sent["event"] == "task.created"
    assert sent["delivery"] == "task.created:7"
    assert sent["tenant"] == tenant.pk
    assert sent["data"] == PAYLOAD
    delivery = WebhookDelivery.objects.get(pk=ids[0])
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        DeliveryStatus.DELIVERED,
        1,
        200,
    )
    assert delivery.delivered_at is not None


def test_5xx_and_429_ask_for_a_retry_and_the_body_stays_the_same(subscribe, tenant):
    with WebhookServer([503, 429, 204]) as server:
        delivery_id = deliver(subscribe(url=server.url))
        assert attempt(delivery_id, tenant) == "retry"
        delivery = WebhookDelivery.objects.get(pk=delivery_id)
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
            DeliveryStatus.RETRYING,
            1,
            503,
        )
        assert delivery.last_error == "HTTP 503"
        assert attempt(delivery_id, tenant) == "retry"
        assert attempt(delivery_id, tenant) == "ok"
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 204)
    assert delivery.last_error == ""
    assert len({r["body"] for r in server.requests}) == 1
    assert len({r["headers"]["X-Workflows-Delivery"] for r in server.requests}) == 1


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422])
def test_other_4xx_fail_for_good(subscribe, tenant, status):
    with WebhookServer([status]) as server:
        delivery_id = deliver(subscribe(url=server.url))
        assert attempt(delivery_id, tenant) == "failed"
        assert attempt(delivery_id, tenant) == "failed"  # not tried again
    assert len(server.requests) == 1
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        "failed",
        1,
        status,
    )


def test_a_redirect_is_refused_not_followed(subscribe, tenant):
    with WebhookServer([200]) as elsewhere, WebhookServer([302], location=elsewhere.url) as hook:
        delivery_id = deliver(subscribe(url=hook.url))
        assert attempt(delivery_id, tenant) == "failed"
    assert len(hook.requests) == 1
    assert elsewhere.requests == []
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.last_status_code == 302
    assert "redirects are not followed" in delivery.last_error


def test_a_private_address_is_refused_without_the_setting(subscribe, tenant, settings):
    with WebhookServer([200]) as server:
        delivery_id = deliver(subscribe(url=server.url))
        settings.WEBHOOK_ALLOW_PRIVATE = False
        assert attempt(delivery_id, tenant) == "failed"
    assert server.requests == []
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert "non-public address" in delivery.last_error
    assert delivery.last_status_code is None


def test_network_errors_and_timeouts_ask_for_a_retry(subscribe, tenant):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    unreachable = subscribe(url=f"http://127.0.0.1:{closed}/hook", events=["run.failed"])
    delivery_id = deliver(unreachable, key="a", event="run.failed")
    assert attempt(delivery_id, tenant) == "retry"
    assert "Cannot reach" in WebhookDelivery.objects.get(pk=delivery_id).last_error

    with WebhookServer([200], delay_s=1.0) as slow:
        delivery_id = deliver(
            subscribe(url=slow.url, events=["run.completed"]), "b", "run.completed"
        )
        assert attempt(delivery_id, tenant, timeout_s=0.2) == "retry"
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.attempts) == ("retrying", 1)


def test_an_inactive_subscription_is_not_posted_to(subscribe, tenant):
    with WebhookServer([200]) as server:
        subscription = subscribe(url=server.url)
        delivery_id = deliver(subscription)
        subscription.active = False
        subscription.save()
        assert attempt(delivery_id, tenant) == "failed"
    assert server.requests == []
    assert WebhookDelivery.objects.get(pk=delivery_id).attempts == 0


def test_give_up_marks_a_retrying_delivery_failed(subscribe, tenant):
    with WebhookServer([500]) as server:
        delivery_id = deliver(subscribe(url=server.url))
        assert attempt(delivery_id, tenant) == "retry"
    webhook_delivery.give_up(delivery_id, tenant_id=tenant.pk, reason="5 attempts")
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.last_error) == ("failed", "5 attempts")
    assert attempt(delivery_id, tenant) == "failed"


def test_another_tenants_delivery_is_not_found(subscribe, tenant, other_tenant):
    delivery_id = deliver(subscribe())
    assert attempt(delivery_id, other_tenant) == "failed"
    assert WebhookDelivery.objects.get(pk=delivery_id).status == "pending"
