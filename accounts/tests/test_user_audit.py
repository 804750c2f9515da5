"""Every change to users and roles is in the tenant's audit log; no password hash ever is.

And an email that has an account anywhere answers like any invalid email.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection, transaction

from accounts.models import Role, User
from core.models import AuditEvent
from core.tenancy import set_db_context

pytestmark = pytest.mark.django_db
AUDIT = "/api/audit-log/"


def user_history(client, user_id: int) -> list[dict]:
    response = client.get(AUDIT, {"object_type": "accounts.user", "object_id": user_id})
    assert response.status_code == 200, response.content
    return list(reversed(response.json()["results"]))  # oldest first


def assert_no_secret(user: User) -> None:
    """No audit row of the user holds the password column or its hash."""
    user.refresh_from_db()
    for event in AuditEvent.objects.filter(table__name="accounts_user", object_id=user.pk):
        dumped = json.dumps([event.old_data, event.new_data])
        assert user.password not in dumped
        assert "pbkdf2" not in dumped
        assert "md5$" not in dumped
        for data in (event.old_data, event.new_data):
            assert "password" not in (data or {})


def test_role_change_through_the_api_is_audited_without_the_hash(
    admin_client, admin, make_user, tenant, settings
):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]  # the test client: a trusted proxy
    agent = make_user(Role.AGENT)
    response = admin_client.patch(
        f"/api/tenants/{tenant.pk}/users/{agent.pk}/",
        {"role": Role.ADMIN},
        format="json",
        HTTP_X_REQUEST_ID="promote-1",
    )
    assert response.status_code == 200

    history = user_history(admin_client, agent.pk)
    assert history[0]["operation"] == "insert"  # (the factory then saves the password)
    promotion = history[-1]
    assert promotion["operation"] == "update"
    assert (promotion["old_data"]["role"], promotion["new_data"]["role"]) == ("AGENT", "ADMIN")
    assert promotion["actor_id"] == admin.pk
    assert promotion["request_id"] == "promote-1"
    assert "password_changed" not in promotion["new_data"]
    assert AuditEvent.objects.get(id=promotion["id"]).tenant_id == tenant.pk
    assert_no_secret(agent)


def test_password_change_is_audited_as_a_fact_not_a_hash(admin_client, make_user, tenant):
    agent = make_user(Role.AGENT)
    response = admin_client.patch(
        f"/api/tenants/{tenant.pk}/users/{agent.pk}/",
        {"password": "Another-Str0ng-Pass!"},
        format="json",
    )
    assert response.status_code == 200
    change = user_history(admin_client, agent.pk)[-1]
    assert change["operation"] == "update"
    assert change["new_data"]["password_changed"] is True
    assert_no_secret(agent)


def test_created_and_deactivated_users_are_audited(admin_client, admin, tenant):
    created = admin_client.post(
        f"/api/tenants/{tenant.pk}/users/",
        {"email": "new-hire@example.test", "password": "Str0ng-Passw0rd!", "role": "VIEWER"},
        format="json",
    )
    assert created.status_code == 201
    user_id = created.json()["id"]
    assert admin_client.delete(f"/api/tenants/{tenant.pk}/users/{user_id}/").status_code == 204

    history = user_history(admin_client, user_id)
    assert [e["operation"] for e in history] == ["insert", "update"]
    assert history[0]["new_data"]["role"] == "VIEWER"
    assert history[0]["actor_id"] == admin.pk
    assert (history[1]["old_data"]["is_active"], history[1]["new_data"]["is_active"]) == (
        True,
        False,
    )
    assert_no_secret(User.objects.get(pk=user_id))


def test_another_tenants_admin_does_not_see_the_users_history(
    admin_client, make_user, other_admin, client_for, tenant
):
    agent = make_user(Role.AGENT)
    admin_client.patch(
        f"/api/tenants/{tenant.pk}/users/{agent.pk}/", {"role": "VIEWER"}, format="json"
    )
    assert user_history(client_for(other_admin), agent.pk) == []


def test_a_change_outside_any_tenant_context_lands_in_the_users_tenant(make_user, tenant):
    """E.g. a password hash upgraded at login, before any tenant is known."""
    agent = make_user(Role.AGENT)
    with transaction.atomic():
        set_db_context()  # no tenant
        User.objects.filter(pk=agent.pk).update(role=Role.SUPERVISOR)
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('app.tenant_id', true)")
            assert cursor.fetchone()[0] == ""  # the trigger restored the (empty) context
    with transaction.atomic():
        set_db_context(
            bypass=True
        )  # the test's transaction is still the app role's: look as platform
        event = AuditEvent.objects.filter(table__name="accounts_user", object_id=agent.pk).last()
    assert (event.tenant_id, event.new_data["role"]) == (tenant.pk, "SUPERVISOR")


def test_platform_staff_without_tenant_are_not_audited():
    staff = User.objects.create_superuser("ops@example.test", "Str0ng-Passw0rd!")
    staff.full_name = "Ops"
    staff.save()
    assert not AuditEvent.objects.filter(table__name="accounts_user", object_id=staff.pk).exists()


def test_users_table_has_the_audit_trigger_and_stays_outside_rls():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.tgname, c.relrowsecurity FROM pg_trigger t JOIN pg_class c "
            "ON c.oid = t.tgrelid WHERE c.relname = 'accounts_user' AND t.tgname = 'audit_row'"
        )
        assert cursor.fetchall() == [("audit_row", False)]


# --- an email with an account elsewhere says nothing ---------------------------------------


def test_cross_tenant_email_answers_like_an_invalid_email_on_create(
    admin_client, admin, tenant, other_tenant, make_user
):
    stranger = make_user(Role.AGENT, tenant=other_tenant)
    url = f"/api/tenants/{tenant.pk}/users/"

    def create(email: str):
        return admin_client.post(
            url, {"email": email, "password": "Str0ng-Passw0rd!"}, format="json"
        )

    before = User.objects.count()
    answers = [
        (r.status_code, r.json())
        for r in (create(stranger.email), create(admin.email), create("not-an-email"))
    ]
    assert answers == [(400, {"email": ["Enter a valid email address."]})] * 3
    assert User.objects.count() == before


def test_cross_tenant_email_answers_like_an_invalid_email_on_update(
    admin_client, admin, tenant, other_tenant, make_user
):
    stranger = make_user(Role.AGENT, tenant=other_tenant)
    mine = make_user(Role.AGENT)
    colleague = make_user(Role.AGENT)
    url = f"/api/tenants/{tenant.pk}/users/{mine.pk}/"

    answers = [
        (r.status_code, r.json())
        for r in (
            admin_client.patch(url, {"email": email}, format="json")
            for email in (stranger.email, colleague.email, "not-an-email")
        )
    ]
    assert answers == [(400, {"email": ["Enter a valid email address."]})] * 3
    mine.refresh_from_db()
    assert mine.email != stranger.email
