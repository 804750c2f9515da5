"""Persistent connections (production: CONN_MAX_AGE 300 with health checks) carry nothing from
one request to the next: the tenant, actor and role are set per transaction (core.tenancy).

A live WSGI server in a thread, so that Django's request signals keep (or would close) the
server thread's connection as in production; between requests, on that connection, what the
next request would start from is read: the application role, no tenant, no actor.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from django.core.signals import request_finished
from django.db import connections
from django.db.backends.signals import connection_created
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Role
from core.rls import app_role
from tests.factories import CaseFactory, TenantFactory, UserFactory
from tests.test_database_errors import live_server, terminate_backend


def call(url: str, token: str) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.django_db(transaction=True)
def test_requests_of_two_tenants_on_one_persistent_connection_see_only_their_own(monkeypatch):
    settings_dict = connections.settings["default"]  # the server thread's connection reads it
    monkeypatch.setitem(settings_dict, "CONN_MAX_AGE", 300)
    monkeypatch.setitem(settings_dict, "CONN_HEALTH_CHECKS", True)
    acme, other = TenantFactory(), TenantFactory()
    acme_admin = UserFactory(tenant=acme, role=Role.ADMIN)
    other_admin = UserFactory(tenant=other, role=Role.ADMIN)
    acme_cases = [CaseFactory(tenant=acme, created_by=acme_admin) for _ in range(2)]
    CaseFactory(tenant=other, created_by=other_admin)
    tokens = {
        user.pk: str(RefreshToken.for_user(user).access_token) for user in (acme_admin, other_admin)
    }
    opened: list[int] = []
    between: list[tuple] = []

    def on_connect(connection: Any, **kwargs: Any) -> None:
        opened.append(id(connection))

    def after_request(**kwargs: Any) -> None:
        # After Django's own receiver has kept (or closed) the connection: what comes next.
        from django.db import connection  # the server thread's

        if connection.connection is None:
            between.append(("closed",))
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_backend_pid(), current_user, current_setting('app.tenant_id', true),"
                " current_setting('app.actor_id', true), now() = statement_timestamp()"
            )
            between.append(cursor.fetchone())

    connection_created.connect(on_connect)
    request_finished.connect(after_request)
    try:
        with live_server() as base:
            first = call(f"{base}/api/cases/", tokens[acme_admin.pk])
            second = call(f"{base}/api/cases/", tokens[other_admin.pk])
            refused = call(f"{base}/api/cases/{acme_cases[0].pk}/", tokens[other_admin.pk])
            third = call(f"{base}/api/cases/", tokens[acme_admin.pk])
    finally:
        connection_created.disconnect(on_connect)
        request_finished.disconnect(after_request)
        for pid in {row[0] for row in between if len(row) > 1}:
            terminate_backend(pid)  # the server thread's kept connection
    assert (first[0], first[1]["count"]) == (200, 2)
    assert (second[0], second[1]["count"]) == (200, 1)
    assert refused[0] == 404  # another tenant's case, asked for on the same connection
    assert (third[0], third[1]["count"]) == (200, 2)
    assert len(opened) == 1, "the server thread reconnected: the test proves nothing"
    assert len(between) == 4, between
    assert len({row[0] for row in between}) == 1, between  # one backend served them all
    for _, role, tenant_id, actor_id, outside_transaction in between:
        assert role == app_role()
        assert tenant_id in (None, "")
        assert actor_id in (None, "")
        assert outside_transaction  # no transaction left open on the kept connection
