"""Searchable logs: one JSON line per request with who and what, run ids on engine lines."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from rest_framework.test import APIClient

from config.settings.base import logging_config
from core.logging import ContextFilter, JsonFormatter, log_scope
from core.tenancy import set_db_context
from tests.factories import StepFactory, WorkflowFactory
from workflows.tests.engine_helpers import start

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def json_lines():
    """The root logger's records as the production handler writes them: a list of dicts."""
    config = logging_config("json")
    factory = config["formatters"]["json"]["()"]
    assert factory == "core.logging.JsonFormatter"
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)

    def lines(logger: str | None = None) -> list[dict]:
        text = buffer.getvalue()
        assert text.endswith("\n") or not text
        parsed = [json.loads(line) for line in text.splitlines()]  # every line is JSON
        return [p for p in parsed if logger is None or p["logger"] == logger]

    def clear() -> None:
        buffer.seek(0)
        buffer.truncate()

    lines.clear = clear  # type: ignore[attr-defined]
    yield lines
    root.removeHandler(handler)
    root.setLevel(level)


def request_lines(json_lines) -> list[dict]:
    return json_lines("workflows.request")


@pytest.mark.django_db
def test_a_request_logs_one_json_line_with_who_and_what(json_lines, admin_client, admin, tenant):
    workflow = WorkflowFactory(tenant=tenant)
    json_lines.clear()  # the client's login was a request too
    response = admin_client.get(f"/api/tenants/{tenant.pk}/workflows/{workflow.pk}/")
    assert response.status_code == 200

    [line] = request_lines(json_lines)
    assert line["request_id"] == response["X-Request-ID"]
    assert line["tenant_id"] == tenant.pk
    assert line["user_id"] == admin.pk
    assert line["route"] == "api/tenants/<int:tenant_id>/workflows/<int:pk>/"
    assert line["path"] == f"/api/tenants/{tenant.pk}/workflows/{workflow.pk}/"
    assert line["method"] == "GET"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] >= 0
    assert line["level"] == "INFO"
    assert line["timestamp"].endswith("+00:00")


@pytest.mark.django_db
def test_an_anonymous_unrouted_request_has_null_fields_not_missing_ones(json_lines):
    response = APIClient().get("/api/no-such-thing/")
    assert response.status_code == 404
    [line] = request_lines(json_lines)
    assert line["route"] is None
    assert line["status"] == 404
    assert line["tenant_id"] is None
    assert line["user_id"] is None


@pytest.mark.django_db
def test_the_tenant_context_puts_tenant_and_user_on_the_scope_s_lines(json_lines, tenant, admin):
    log = logging.getLogger("workflows.engine")
    with log_scope(), transaction.atomic():  # a request's scope; its view sets the context
        set_db_context(tenant_id=tenant.pk, actor_id=admin.pk)
        log.info("inside")
    with transaction.atomic():  # no scope (a poller between jobs): nothing sticks
        set_db_context(tenant_id=tenant.pk)
        log.info("outside")
    set_db_context(bypass=True)  # the test works as the platform role again
    inside, outside = json_lines("workflows.engine")
    assert (inside["tenant_id"], inside["user_id"]) == (tenant.pk, admin.pk)
    assert (outside["tenant_id"], outside["user_id"]) == (None, None)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("trusted", "kept"),
    [(["127.0.0.1"], True), ([], False), (["10.0.0.0/8"], False)],
)
def test_x_request_id_is_kept_only_from_a_trusted_proxy(settings, json_lines, trusted, kept):
    settings.TRUSTED_PROXIES = trusted  # the test client's REMOTE_ADDR is 127.0.0.1
    response = APIClient().get("/healthz", HTTP_X_REQUEST_ID="proxy-id-1")
    echoed = response["X-Request-ID"]
    assert (echoed == "proxy-id-1") is kept
    assert len(echoed) == 32 or kept  # made up: a uuid4 hex
    [line] = request_lines(json_lines)
    assert line["request_id"] == echoed


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["abc\ninjected", "a" * 65, "x y", "é"])
def test_a_request_id_with_control_characters_cannot_make_lines(settings, json_lines, bad):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]  # even a trusted proxy's id must be a plain token
    response = APIClient().get("/healthz", HTTP_X_REQUEST_ID=bad)
    assert response["X-Request-ID"] != bad
    assert "injected" not in response["X-Request-ID"]
    [line] = request_lines(json_lines)
    assert line["request_id"] == response["X-Request-ID"]


@pytest.mark.django_db
def test_a_newline_in_the_path_stays_inside_the_line(json_lines):
    APIClient().get("/api/x%0Afake-line")
    [line] = request_lines(json_lines)
    assert line["path"] == "/api/x%0Afake-line"
    assert "\n" not in line["message"]


@pytest.mark.django_db
def test_an_engine_line_about_a_run_carries_its_run_and_step_run(json_lines, tenant):
    workflow = WorkflowFactory(tenant=tenant)
    StepFactory(workflow=workflow, order=0, action="no_such_action", name="Broken")
    run = start(tenant, workflow)
    step_run = run.step_runs.get()
    [line] = [e for e in json_lines("workflows.engine") if e.get("step_run_id") == step_run.pk]
    assert line["run_id"] == run.pk
    assert line["tenant_id"] == tenant.pk
    assert line["level"] == "WARNING"
    assert "no_such_action" in line["message"]


def test_a_scope_puts_its_fields_on_lines_and_extra_wins(json_lines):
    log = logging.getLogger("workflows.tasks")
    with log_scope(task_id="t-1", tenant_id=3):
        log.warning("inside", extra={"tenant_id": 4, "step_run_id": 9})
    log.warning("outside")
    inside, outside = json_lines("workflows.tasks")
    assert (inside["task_id"], inside["tenant_id"], inside["step_run_id"]) == ("t-1", 4, 9)
    assert "task_id" not in outside
    assert outside["tenant_id"] is None


def test_a_celery_task_logs_with_its_id_and_tenant(json_lines):
    from celery import signals

    from core.logging import connect_celery

    connect_celery()  # what a worker's app does (config.celery, workflows.tasks)

    task = type("Task", (), {"name": "workflows.execute_step_run"})()
    signals.task_prerun.send(
        sender=task, task_id="task-42", task=task, args=(), kwargs={"tenant_id": 5}
    )
    logging.getLogger("workflows.tasks").info("working")
    signals.task_postrun.send(sender=task, task_id="task-42", task=task)
    logging.getLogger("workflows.tasks").info("after")
    working, after = json_lines("workflows.tasks")
    assert (working["task_id"], working["tenant_id"]) == ("task-42", 5)
    assert "task_id" not in after


def test_an_unknown_log_format_stops_start_up_naming_the_variable():
    with pytest.raises(ImproperlyConfigured, match="WORKFLOWS_LOG_FORMAT"):
        logging_config("xml")


@pytest.mark.parametrize(("value", "formatter"), [(None, "json"), ("text", "text")])
def test_production_logs_json_unless_told_text(value, formatter):
    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": "x" * 50,
        "DJANGO_ALLOWED_HOSTS": "example.org",
        "DATABASE_URL": "postgres://u@127.0.0.1:5432/db",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    env.pop("WORKFLOWS_LOG_FORMAT", None)
    if value is not None:
        env["WORKFLOWS_LOG_FORMAT"] = value
    code = (
        "import config.settings.production as p;"
        " print(p.LOGGING['handlers']['console']['formatter'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == formatter
