"""Shared fixtures: tenants, users of every role, and API clients holding real JWTs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from accounts.models import Role, User
from tests.factories import PASSWORD, TenantFactory, UserFactory


@pytest.fixture
def tenant():
    return TenantFactory(name="Acme Helpline", slug="acme")


@pytest.fixture
def other_tenant():
    return TenantFactory(name="Other Org", slug="other")


@pytest.fixture
def make_user(tenant) -> Callable[..., User]:
    def make(role: str = Role.AGENT, tenant=tenant, **kwargs) -> User:
        return UserFactory(role=role, tenant=tenant, **kwargs)

    return make


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN)


@pytest.fixture
def other_admin(make_user, other_tenant):
    return make_user(Role.ADMIN, tenant=other_tenant)


def obtain_token(user: User) -> str:
    client = APIClient()
    response = client.post(
        "/api/auth/token/", {"email": user.email, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["access"]


@pytest.fixture
def client_for() -> Callable[[User], APIClient]:
    """An APIClient authenticated with a real token obtained from the API."""

    def make(user: User) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {obtain_token(user)}")
        return client

    return make


@pytest.fixture
def admin_client(client_for, admin) -> APIClient:
    return client_for(admin)
