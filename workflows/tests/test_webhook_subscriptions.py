"""`/api/webhooks/`: ADMIN-only CRUD, the secret shown once, the delivery log."""

from __future__ import annotations

import json

import pytest

from accounts.models import Role
from core.models import AuditEvent
from workflows.models import WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db
URL = "/api/webhooks/"
# The request's savepoint, the user (with its tenant), the context, the subscription, the
# count, the page, the release: whatever the log holds.
QUERIES_PER_LOG_PAGE = 7
GOOD = {"url": "https://hooks.example.test/in", "events": ["task.created", "run.completed"]}


@pytest.fixture
def https_only(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False


def create(client, **extra):
    return client.post(URL, {**GOOD, **extra}, format="json")


def test_create_shows_the_secret_once_and_rotation_replaces_it(admin_client):
    response = create(admin_client, description="ERP")
    assert response.status_code == 201, response.content
    body = response.json()
    secret = body["secret"]
    assert secret.startswith("whsec_")
    assert len(secret) > 40
    assert body["events"] == ["run.completed", "task.created"]
    assert body["active"] is True
    hook = body["id"]

    for reading in (admin_client.get(f"{URL}{hook}/"), admin_client.get(URL)):
        assert reading.status_code == 200
        assert "secret" not in json.dumps(reading.json())
    patched = admin_client.patch(f"{URL}{hook}/", {"active": False}, format="json")
    assert patched.status_code == 200
    assert "secret" not in patched.json()

    rotated = admin_client.post(f"{URL}{hook}/rotate-secret/")
    assert rotated.status_code == 200
    assert rotated.json()["secret"] not in (secret, "")
    assert WebhookSubscription.objects.get(pk=hook).secret == rotated.json()["secret"]


def test_the_audit_log_never_holds_the_secret(admin_client):
    hook = create(admin_client).json()["id"]
    admin_client.post(f"{URL}{hook}/rotate-secret/")
    secret = WebhookSubscription.objects.get(pk=hook).secret
    events = AuditEvent.objects.filter(table__name="workflows_webhooksubscription", object_id=hook)
    assert [e.action for e in events.order_by("id")] == ["INSERT", "UPDATE"]
    assert events.order_by("id").last().new_row["secret_changed"] is True
    for event in events:
        dumped = json.dumps([event.old_data, event.new_data])
        assert "whsec_" not in dumped
        assert secret not in dumped


def test_update_replace_and_delete(admin_client):
    hook = create(admin_client).json()["id"]
    replaced = admin_client.put(
        f"{URL}{hook}/",
        {"url": "https://other.example.test/", "events": ["run.failed"]},
        format="json",
    )
    assert replaced.status_code == 200, replaced.content
    assert replaced.json()["events"] == ["run.failed"]
    assert admin_client.delete(f"{URL}{hook}/").status_code == 204
    assert admin_client.get(f"{URL}{hook}/").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": []}, "events"),
        ({"events": ["task.sneezed"]}, "events"),
        ({"events": "task.created"}, "events"),
        ({"url": "http://hooks.example.test/in"}, "url"),  # https only
        ({"url": "https://10.0.0.1/in"}, "url"),
        ({"url": "https://127.0.0.1:8443/in"}, "url"),
        ({"url": "ftp://hooks.example.test/"}, "url"),
        ({"url": "https://user:pw@hooks.example.test/"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"description": "x" * 501}, "description"),
        ({"active": "maybe"}, "active"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(admin_client, https_only, body, field):
    response = create(admin_client, **body)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not WebhookSubscription.objects.exists()


def test_http_and_loopback_targets_when_private_targets_are_allowed(admin_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    assert create(admin_client, url="http://127.0.0.1:8080/hook").status_code == 201


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.AGENT, Role.VIEWER])
def test_only_admins(client_for, make_user, admin_client, role):
    hook = create(admin_client).json()["id"]
    client = client_for(make_user(role))
    assert client.get(URL).status_code == 403
    assert create(client).status_code == 403
    assert client.get(f"{URL}{hook}/deliveries/").status_code == 403
    assert client.post(f"{URL}{hook}/rotate-secret/").status_code == 403


def test_another_tenants_subscription_is_a_404(admin_client, client_for, other_admin):
    hook = create(admin_client).json()["id"]
    secret = WebhookSubscription.objects.get(pk=hook).secret
    other = client_for(other_admin)
    assert other.get(URL).json()["count"] == 0
    for response in (
        other.get(f"{URL}{hook}/"),
        other.patch(f"{URL}{hook}/", {"events": []}, format="json"),  # 404 before the 400
        other.delete(f"{URL}{hook}/"),
        other.post(f"{URL}{hook}/rotate-secret/"),
        other.get(f"{URL}{hook}/deliveries/"),
    ):
        assert response.status_code == 404
    assert WebhookSubscription.objects.get(pk=hook).secret == secret


def test_list_filters_by_active(admin_client):
    create(admin_client)
    create(admin_client, active=False)
    assert admin_client.get(URL, {"active": "true"}).json()["count"] == 1
    assert admin_client.get(URL, {"active": "false"}).json()["count"] == 1


def test_delivery_log_newest_first_paginated_and_filtered(admin_client, django_assert_num_queries):
    hook = create(admin_client).json()["id"]
    subscription = WebhookSubscription.objects.get(pk=hook)
    for n in range(5):
        WebhookDelivery.objects.create(
            tenant=subscription.tenant,
            subscription=subscription,
            event="task.created",
            key=f"k{n}",
            status="failed" if n == 4 else "delivered",
            attempts=1,
            last_status_code=410 if n == 4 else 200,
        )
    with django_assert_num_queries(QUERIES_PER_LOG_PAGE):
        response = admin_client.get(f"{URL}{hook}/deliveries/", {"page_size": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5
    assert [d["key"] for d in body["results"]] == ["k4", "k3"]
    assert set(body["results"][0]) == {
        "id",
        "event",
        "key",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "created_at",
        "last_attempt_at",
        "delivered_at",
    }
    failed = admin_client.get(f"{URL}{hook}/deliveries/", {"status": "failed"}).json()
    assert [d["key"] for d in failed["results"]] == ["k4"]
    assert admin_client.get(f"{URL}{hook}/deliveries/", {"status": "nope"}).status_code == 400
