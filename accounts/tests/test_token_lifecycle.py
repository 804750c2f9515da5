"""Tokens die when they should: a new password, a deactivated user or tenant."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import Role, User
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
ME = "/api/auth/me/"
REFRESH = "/api/auth/token/refresh/"
NEW_PASSWORD = "Another-Str0ng-Pass!"


def login(email: str, password: str = PASSWORD) -> dict:
    response = APIClient().post(
        "/api/auth/token/", {"email": email, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def me(access: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get(ME).status_code


def refresh(token: str):
    return APIClient().post(REFRESH, {"refresh": token}, format="json")


def assert_dead(pair: dict) -> None:
    assert me(pair["access"]) == 401
    answer = refresh(pair["refresh"])
    assert answer.status_code == 401, answer.content
    assert "access" not in answer.json()


def change_through_api(user: User, admin_client: APIClient) -> None:
    response = admin_client.patch(
        f"/api/tenants/{user.tenant_id}/users/{user.pk}/",
        {"password": NEW_PASSWORD},
        format="json",
    )
    assert response.status_code == 200, response.content


def change_with_set_password(user: User, admin_client: APIClient) -> None:
    user = User.objects.get(pk=user.pk)
    user.set_password(NEW_PASSWORD)
    user.save()


def change_with_raw_update(user: User, admin_client: APIClient) -> None:
    User.objects.filter(pk=user.pk).update(password=make_password(NEW_PASSWORD))


@pytest.mark.parametrize(
    "change",
    [change_through_api, change_with_set_password, change_with_raw_update],
    ids=["api-patch", "set_password+save", "queryset-update"],
)
def test_a_new_password_kills_every_earlier_access_and_refresh_token(
    change, make_user, admin_client
):
    user = make_user(Role.AGENT)
    first, second = login(user.email), login(user.email)
    rotated = refresh(second["refresh"]).json()  # a token minted by refresh dies too
    assert me(first["access"]) == 200

    change(user, admin_client)

    for pair in (first, rotated):
        assert_dead(pair)
    fresh = login(user.email, NEW_PASSWORD)
    assert me(fresh["access"]) == 200
    assert refresh(fresh["refresh"]).status_code == 200


def test_changepassword_command_kills_earlier_tokens(make_user, admin_client, monkeypatch):
    user = make_user(Role.AGENT)
    pair = login(user.email)
    monkeypatch.setattr("getpass.getpass", lambda *args, **kwargs: NEW_PASSWORD)
    call_command("changepassword", user.email, stdout=io.StringIO())
    assert_dead(pair)


def test_saving_a_user_without_changing_the_password_keeps_tokens(make_user, admin_client):
    user = make_user(Role.AGENT)
    pair = login(user.email)
    response = admin_client.patch(
        f"/api/tenants/{user.tenant_id}/users/{user.pk}/", {"role": "VIEWER"}, format="json"
    )
    assert response.status_code == 200
    assert me(pair["access"]) == 200
    assert refresh(pair["refresh"]).status_code == 200


def test_deactivated_tenant_refresh_token_mints_nothing(make_user, tenant):
    user = make_user(Role.AGENT)
    pair = login(user.email)
    tenant.is_active = False
    tenant.save()
    assert_dead(pair)


def test_deactivated_user_refresh_token_mints_nothing(make_user):
    user = make_user(Role.AGENT)
    pair = login(user.email)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert_dead(pair)


def test_refresh_of_a_deleted_user_is_401_not_500(make_user):
    user = make_user(Role.AGENT)
    pair = login(user.email)
    user.delete()
    assert refresh(pair["refresh"]).status_code == 401


def test_refresh_body_without_token_is_400():
    response = APIClient().post(REFRESH, {}, format="json")
    assert response.status_code == 400
    assert "refresh" in response.json()


def test_a_spent_refresh_token_is_401(make_user):
    user = make_user(Role.AGENT)
    pair = login(user.email)
    assert refresh(pair["refresh"]).status_code == 200
    again = refresh(pair["refresh"])
    assert again.status_code == 401
    assert "access" not in again.json()
