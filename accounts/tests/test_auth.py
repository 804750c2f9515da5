"""JWT login, refresh rotation, logout, /me, and every way a token must stop working."""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import Role
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
ME = "/api/auth/me/"


def login(email, password=PASSWORD):
    return APIClient().post(
        "/api/auth/token/", {"email": email, "password": password}, format="json"
    )


def bearer(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_login_returns_access_and_refresh_and_me_works(admin, tenant):
    response = login(admin.email.upper())
    assert response.status_code == 200
    tokens = response.json()
    assert set(tokens) == {"access", "refresh"}
    me = bearer(tokens["access"]).get(ME).json()
    assert me["email"] == admin.email
    assert me["role"] == "ADMIN"
    assert me["tenant"] == tenant.id
    assert me["tenant_slug"] == "acme"


def test_wrong_password_and_unknown_email_answer_the_same(admin):
    wrong = login(admin.email, "nope-nope-nope")
    unknown = login("nobody@example.test", "nope-nope-nope")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_login_missing_fields_is_400():
    response = APIClient().post("/api/auth/token/", {"email": "a@b.c"}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()


def test_refresh_rotates_and_old_refresh_is_blacklisted(admin):
    refresh = login(admin.email).json()["refresh"]
    client = APIClient()
    first = client.post("/api/auth/token/refresh/", {"refresh": refresh}, format="json")
    assert first.status_code == 200
    assert set(first.json()) == {"access", "refresh"}
    again = client.post("/api/auth/token/refresh/", {"refresh": refresh}, format="json")
    assert again.status_code == 401


def test_logout_blacklists_refresh(admin):
    tokens = login(admin.email).json()
    client = bearer(tokens["access"])
    assert (
        client.post("/api/auth/logout/", {"refresh": tokens["refresh"]}, format="json").status_code
        == 204
    )
    response = APIClient().post(
        "/api/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json"
    )
    assert response.status_code == 401


def test_logout_with_garbage_token_is_400(admin):
    client = bearer(login(admin.email).json()["access"])
    response = client.post("/api/auth/logout/", {"refresh": "garbage"}, format="json")
    assert response.status_code == 400
    assert "refresh" in response.json()


def test_no_token_is_401():
    assert APIClient().get(ME).status_code == 401


def test_expired_token_is_401(admin):
    token = AccessToken.for_user(admin)
    token.set_exp(lifetime=-timedelta(seconds=1))
    assert bearer(str(token)).get(ME).status_code == 401


def test_forged_signature_is_401(admin):
    access = login(admin.email).json()["access"]
    header, payload, signature = access.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    assert bearer(forged).get(ME).status_code == 401


def test_token_signed_with_another_key_is_401(admin):
    import jwt

    payload = dict(AccessToken.for_user(admin).payload)
    forged = jwt.encode(payload, "not-the-server-key-but-32-bytes-long", algorithm="HS256")
    assert bearer(forged).get(ME).status_code == 401


def test_deactivated_user_loses_access_at_next_request(admin):
    access = login(admin.email).json()["access"]
    assert bearer(access).get(ME).status_code == 200
    admin.is_active = False
    admin.save()
    assert bearer(access).get(ME).status_code == 401
    assert login(admin.email).status_code == 401


def test_deactivated_tenant_loses_access(admin, tenant):
    access = login(admin.email).json()["access"]
    tenant.is_active = False
    tenant.save()
    assert bearer(access).get(ME).status_code == 401
    assert login(admin.email).status_code == 401


def test_admin_manages_own_tenant_users(client_for, admin, tenant, other_tenant, make_user):
    client = client_for(admin)
    url = f"/api/tenants/{tenant.id}/users/"
    response = client.post(
        url,
        {"email": "New@Example.test", "password": "Str0ng-Passw0rd!", "role": "AGENT"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    new_id = response.json()["id"]
    assert response.json()["email"] == "new@example.test"
    assert login("new@example.test", "Str0ng-Passw0rd!").status_code == 200
    assert client.get(url).json()["count"] == 2
    assert (
        client.patch(f"{url}{new_id}/", {"role": "VIEWER"}, format="json").json()["role"]
        == "VIEWER"
    )
    assert client.delete(f"{url}{new_id}/").status_code == 204
    assert login("new@example.test", "Str0ng-Passw0rd!").status_code == 401
    # Another tenant's users and paths are invisible.
    stranger = make_user(Role.AGENT, tenant=other_tenant)
    assert client.get(f"{url}{stranger.id}/").status_code == 404
    assert client.get(f"/api/tenants/{other_tenant.id}/users/").status_code == 404


def test_weak_password_and_duplicate_email_are_400(admin_client, admin, tenant):
    url = f"/api/tenants/{tenant.id}/users/"
    weak = admin_client.post(url, {"email": "w@example.test", "password": "123"}, format="json")
    assert weak.status_code == 400
    assert "password" in weak.json()
    dup = admin_client.post(
        url, {"email": admin.email, "password": "Str0ng-Passw0rd!"}, format="json"
    )
    assert dup.status_code == 400
    assert "email" in dup.json()


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.AGENT, Role.VIEWER])
def test_non_admins_cannot_create_users(client_for, make_user, tenant, role):
    client = client_for(make_user(role))
    response = client.post(
        f"/api/tenants/{tenant.id}/users/",
        {"email": "x@example.test", "password": "Str0ng-Passw0rd!"},
        format="json",
    )
    assert response.status_code == 403


def test_admin_cannot_lock_themselves_out(admin_client, admin, tenant):
    response = admin_client.patch(
        f"/api/tenants/{tenant.id}/users/{admin.id}/", {"is_active": False}, format="json"
    )
    assert response.status_code == 400
    admin.refresh_from_db()
    assert admin.is_active
