"""What a process costs before its first request: Celery only where a broker is configured;
production keeps its database connections (fresh subprocesses, scrubbed environment)."""

from __future__ import annotations

import secrets
import sys

import pytest

from tests.test_deployment import clean_env, probe, run

PROBE = r"""
import json, sys
import django
django.setup()
from django.conf import settings
from django.urls import resolve
resolve("/api/approvals/transfers/1/approve/")  # the URLconf and the views, as a server has
database = settings.DATABASES["default"]
print("PROBE " + json.dumps({
    "celery": "celery" in sys.modules,
    "conn_max_age": database["CONN_MAX_AGE"],
    "health_checks": database["CONN_HEALTH_CHECKS"],
}))
"""


def production_env(tmp_path, **extra):
    values = {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "example.org",
        "DATABASE_URL": "postgres://app@db.invalid:5432/workflows",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
    }
    return clean_env(tmp_path / "var", **{**values, **extra})


@pytest.mark.parametrize("module", ["config.settings.base", "config.settings.production"])
def test_without_a_broker_no_process_imports_celery(module, tmp_path):
    env = production_env(tmp_path, DJANGO_SETTINGS_MODULE=module)
    assert probe(run([sys.executable, "-c", PROBE], env))["celery"] is False


def test_with_a_broker_the_project_app_is_loaded(tmp_path):
    env = production_env(tmp_path, CELERY_BROKER_URL="amqp://guest:guest@127.0.0.1:5672//")
    code = PROBE.replace('print("PROBE "', 'import config\nconfig.celery_app\nprint("PROBE "')
    assert probe(run([sys.executable, "-c", code], env))["celery"] is True


def test_production_keeps_connections_with_health_checks_unless_told_otherwise(tmp_path):
    seen = probe(run([sys.executable, "-c", PROBE], production_env(tmp_path)))
    assert (seen["conn_max_age"], seen["health_checks"]) == (300, True)
    env = production_env(tmp_path, DB_CONN_MAX_AGE="0", DB_CONN_HEALTH_CHECKS="0")
    seen = probe(run([sys.executable, "-c", PROBE], env))
    assert (seen["conn_max_age"], seen["health_checks"]) == (0, False)
