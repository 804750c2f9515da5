"""A lost database connection is a 503 with `Retry-After`, never a 500 (issue 11 item 12).

Inside DRF views (the exception handler), outside them (the request's transaction, a
middleware: `RequestGuardMiddleware` and handler500), and for real: a live WSGI server whose
backend is terminated by `pg_terminate_backend` in the middle of a request answers 503, and
the next request reconnects and succeeds. Errors about a statement (a deadlock, a timeout)
are not connection failures and are not turned into 503s here.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import psycopg
import pytest
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.test import override_settings
from psycopg import errors as pg_errors
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Role
from core.api.exceptions import DB_RETRY_AFTER_SECONDS, is_connection_failure
from tests.factories import TenantFactory, UserFactory

LOST = "consuming input failed: server closed the connection unexpectedly"


def lost_connection() -> OperationalError:
    """What Django raises when psycopg finds the server gone (no SQLSTATE)."""
    error = OperationalError(LOST)
    error.__cause__ = psycopg.OperationalError(LOST)
    return error


@contextlib.contextmanager
def failing_queries(matches: Callable[[str], bool]) -> Iterator[list[str]]:
    """Every query `matches` accepts fails as if the connection had been lost."""
    failed: list[str] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if matches(sql):
            failed.append(sql)
            raise lost_connection()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield failed


def assert_503(response: Any, path: str) -> None:
    assert response.status_code == 503, response.content[:500]
    assert response["Retry-After"] == str(DB_RETRY_AFTER_SECONDS)
    body = response.json()
    if path.startswith("/api/approvals/"):
        assert body == {
            "success": False,
            "errors": {"detail": "The database is unavailable; retry shortly."},
        }
    else:
        assert body == {"detail": "The database is unavailable; retry shortly."}


@pytest.mark.parametrize(
    "error",
    [
        pg_errors.AdminShutdown("terminating connection due to administrator command"),
        pg_errors.CrashShutdown("crash"),
        pg_errors.CannotConnectNow("the database system is starting up"),
        pg_errors.ConnectionFailure("connection failure"),
        psycopg.OperationalError("connection failed: Connection refused"),
    ],
)
def test_connection_failures_are_recognised(error):
    wrapped = OperationalError(str(error))
    wrapped.__cause__ = error
    assert is_connection_failure(wrapped)
    assert is_connection_failure(InterfaceError("connection already closed"))


@pytest.mark.parametrize(
    "error",
    [
        pg_errors.DeadlockDetected("deadlock detected"),
        pg_errors.QueryCanceled("canceling statement due to statement timeout"),
        pg_errors.LockNotAvailable("could not obtain lock"),
    ],
)
def test_statement_errors_are_not_connection_failures(error):
    wrapped = OperationalError(str(error))
    wrapped.__cause__ = error
    assert not is_connection_failure(wrapped)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "table"),
    [
        ("/api/cases/", "cases_case"),
        ("/api/approvals/transfers/", "approvals_transfer"),
        ("/api/tasks/", "workflows_humantask"),
    ],
)
def test_a_lost_connection_in_a_view_is_a_503(admin_client, path, table):
    with failing_queries(lambda sql: table in sql) as failed:
        response = admin_client.get(path)
    assert failed, "the query never ran: the test proves nothing"
    assert_503(response, path)
    assert admin_client.get(path).status_code == 200  # and the next request works


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/cases/", "/api/approvals/security-groups/"])
def test_a_lost_connection_outside_drf_is_a_503(admin_client, path):
    """The request's transaction opens before DRF's handler is in place (the SAVEPOINT here)."""
    with failing_queries(lambda sql: sql.startswith("SAVEPOINT")) as failed:
        response = admin_client.get(path)
    assert failed
    assert_503(response, path)


@pytest.mark.django_db
def test_a_lost_connection_in_authentication_is_a_503(admin):
    client = APIClient()
    token = str(RefreshToken.for_user(admin).access_token)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    with failing_queries(lambda sql: "accounts_user" in sql) as failed:
        response = client.get("/api/auth/me/")
    assert failed
    assert_503(response, "/api/auth/me/")
    with failing_queries(lambda sql: "accounts_user" in sql):
        response = APIClient().post(
            "/api/auth/token/", {"email": admin.email, "password": "x"}, format="json"
        )
    assert_503(response, "/api/auth/token/")


class FailingMiddleware:
    """Stands for any middleware that queries the database (sessions, a tenant resolver)."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        raise lost_connection()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/cases/", "/api/approvals/transfers/", "/healthz"])
def test_a_lost_connection_in_a_middleware_is_a_503(path):
    middleware = [*settings.MIDDLEWARE, "tests.test_database_errors.FailingMiddleware"]
    client = APIClient(raise_request_exception=False)
    with override_settings(MIDDLEWARE=middleware):
        response = client.get(path)
    assert_503(response, path)


@pytest.mark.django_db
def test_other_database_errors_stay_500(admin_client):
    """Not every OperationalError is a lost connection: a deadlock is not retried by waiting."""

    def deadlock(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if "cases_case" in sql:
            error = OperationalError("deadlock detected")
            error.__cause__ = pg_errors.DeadlockDetected("deadlock detected")
            raise error
        return execute(sql, params, many, context)

    with connection.execute_wrapper(deadlock):
        response = admin_client.get("/api/cases/")
    assert response.status_code == 500
    assert "Retry-After" not in response


# ---------------------------------------------------------------------------------------------
# For real: a live server, its backend terminated mid-request


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@contextlib.contextmanager
def live_server() -> Iterator[str]:
    from config.wsgi import application

    server = make_server("127.0.0.1", 0, application, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def get(url: str, token: str) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


def terminate_backend(pid: int) -> None:
    """From a second connection, as an operator (or a restart) would; waits until it is gone."""
    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=True
    ) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
        for _ in range(500):
            if not other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
                return
            time.sleep(0.01)
        raise AssertionError(f"backend {pid} is still there")


@pytest.mark.django_db(transaction=True)
def test_terminating_the_backend_mid_request_is_a_503_and_the_next_request_succeeds(
    monkeypatch,
):
    from cases import selectors

    tenant = TenantFactory()
    user = UserFactory(tenant=tenant, role=Role.ADMIN)
    token = str(RefreshToken.for_user(user).access_token)
    original = selectors.case_list
    terminated: list[int] = []

    def case_list_after_termination(**kwargs: Any) -> Any:
        from django.db import connection as server_connection  # the server thread's

        if not terminated:  # the first request only: authentication has used the connection
            with server_connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pid = cursor.fetchone()[0]
            terminate_backend(pid)
            terminated.append(pid)
        return original(**kwargs)

    monkeypatch.setattr(selectors, "case_list", case_list_after_termination)
    with live_server() as base:
        status, headers, body = get(f"{base}/api/cases/", token)
        assert terminated, "the hook never ran"
        assert status == 503, body
        assert headers["Retry-After"] == str(DB_RETRY_AFTER_SECONDS)
        assert body == {"detail": "The database is unavailable; retry shortly."}
        status, _, body = get(f"{base}/api/cases/", token)
        assert status == 200, body
        assert body["count"] == 0
