"""The Django internals the SQL toolkit (`workflows/engine/sql.py`, `rows.py`) relies on.

The toolkit skips the ORM's generic work on the hot path by doing what Django does itself,
with Django's own pieces. Each test here pins one of those pieces, so that a Django upgrade
that changes one fails here, by name, rather than somewhere in the engine.
"""

from __future__ import annotations

import inspect
from datetime import UTC, datetime

import pytest
from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import signals
from django.db.models.base import ModelState
from django.db.models.expressions import Col
from django.dispatch.dispatcher import NO_RECEIVERS

from workflows.engine import rows, sql
from workflows.models import HumanTask, Step, StepRun, TaskBallot, WorkflowRun

ENGINE_MODELS = (HumanTask, StepRun, WorkflowRun, TaskBallot)


def test_model_state_is_adding_and_db_and_nothing_else_to_set():
    # `rows.instance`/`rows.new` build a ModelState() and set these two, as from_db does.
    state = ModelState()
    assert (state.adding, state.db) == (True, None)
    assert set(vars(state)) == set()  # both class defaults: nothing per instance yet
    built = WorkflowRun.from_db(
        DEFAULT_DB_ALIAS,
        [f.attname for f in WorkflowRun._meta.concrete_fields],
        [None] * len(WorkflowRun._meta.concrete_fields),
    )
    assert set(vars(built._state)) == {"adding", "db"}
    assert (built._state.adding, built._state.db) == (False, DEFAULT_DB_ALIAS)


def test_from_db_takes_alias_attnames_values():
    assert list(inspect.signature(WorkflowRun.from_db).parameters) == [
        "db",
        "field_names",
        "values",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("model", ENGINE_MODELS)
def test_column_converters_are_the_compilers(model):
    # `rows.instance` applies, per column, what the SQL compiler would.
    compiler = model.objects.all().query.get_compiler(DEFAULT_DB_ALIAS)
    expressions = [Col(model._meta.db_table, f) for f in model._meta.concrete_fields]
    theirs = {index: found for index, (found, _) in compiler.get_converters(expressions).items()}
    ours = {index: list(found) for index, _, found in rows._conversions(model, connection.vendor)}
    assert ours == theirs
    # A subset of the columns by name (`converted`): the same converters, at their positions.
    names = tuple(f.attname for f in reversed(model._meta.concrete_fields))
    width = len(names)
    subset = {
        index: list(found) for index, _, found in rows._conversions(model, connection.vendor, names)
    }
    assert subset == {width - 1 - index: found for index, found in theirs.items()}


def test_init_signals_remember_a_sender_without_receivers():
    # `rows._plain_init` trusts this cache to skip Model.__init__ cheaply.
    for signal in (signals.pre_init, signals.post_init):
        assert signal.use_caching
        signal.has_listeners(WorkflowRun)
        signal.sender_receivers_cache.clear()
        assert not signal.has_listeners(WorkflowRun)
        signal._live_receivers(WorkflowRun)
        assert signal.sender_receivers_cache.get(WorkflowRun) is NO_RECEIVERS


@pytest.mark.parametrize("model", ENGINE_MODELS)
def test_fields_have_the_attnames_and_defaults_new_uses(model):
    for field in model._meta.concrete_fields:
        if field.many_to_one:
            assert field.attname == f"{field.name}_id"
            assert field.target_field.attname == "id"
            assert callable(field.get_default)
            assert callable(field.set_cached_value)
        else:
            assert field.attname == field.name
            if callable(field.default):  # a fresh value each time (uuid4, dict)
                assert type(field._get_default()) is type(field.get_default())
            else:
                assert field._get_default() == field.get_default()


@pytest.mark.django_db
def test_values_postgresql_takes_as_they_are_need_no_preparing():
    samples = {
        "DateTimeField": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "CharField": "x",
        "TextField": "y",
        "BooleanField": True,
    }
    for model in ENGINE_MODELS:
        for field in model._meta.concrete_fields:
            kind = field.get_internal_type()
            assert kind in rows._AS_IS or kind in {"JSONField", "UUIDField"}, kind
            value = samples.get(kind, 7)
            if kind in rows._AS_IS and kind in samples:
                assert field.get_db_prep_save(value, connection) == value, field


def test_json_field_reads_text_with_from_db_value():
    config = Step._meta.get_field("config")
    assert config.from_db_value('{"a": 1}', None, connection) == {"a": 1}


@pytest.mark.django_db
def test_server_binding_cursor_and_the_wrapper_hooks():
    from django.db.backends.postgresql.base import TIMESTAMPTZ_OID, ServerBindingCursor

    connection.ensure_connection()
    assert TIMESTAMPTZ_OID == 1184
    assert isinstance(connection.queries_logged, bool)
    raw = ServerBindingCursor(connection.connection)
    wrapped = connection._prepare_cursor(raw)
    assert wrapped.cursor is raw
    wrapped.execute("SELECT %s::int", [1])
    assert raw.pgresult.status == sql._TUPLES_OK
    assert wrapped.fetchall() == [(1,)]
    wrapped.execute("SET LOCAL statement_timeout = 0")
    assert raw.pgresult.status != sql._TUPLES_OK  # a command: no rows to fetch


@pytest.mark.django_db
def test_batch_runs_statements_in_order_in_one_round_trip(django_assert_num_queries):
    with django_assert_num_queries(1):
        found, _ = sql.batch(
            [
                ("SELECT 1", []),
                ("SELECT %s::int + 1", [1]),
            ]
        )
    assert found == [(2,)]


def test_psycopg_caches_the_engines_long_statements():
    """`sql._cache_long_statements` raises two module limits of psycopg's that its query
    conversion reads at each call: a psycopg that renames or stops reading them must fail here."""
    import inspect

    from psycopg import _queries

    from workflows.engine import sql  # noqa: F401  (raises the limits on import)

    source = inspect.getsource(_queries)
    assert source.count("len(query) <= MAX_CACHED_STATEMENT_LENGTH") >= 2
    assert source.count("len(vars) <= MAX_CACHED_STATEMENT_PARAMS") >= 2
    assert _queries.MAX_CACHED_STATEMENT_LENGTH >= 16384
    assert _queries.MAX_CACHED_STATEMENT_PARAMS >= 200


def test_now_is_djangos_now_and_follows_use_tz(settings):
    # `sql.now` reads USE_TZ once, not per call; a changed setting is read again.
    from django.utils import timezone

    assert sql.now().tzinfo is timezone.now().tzinfo is UTC
    settings.USE_TZ = False
    assert sql.now().tzinfo is None
    assert timezone.now().tzinfo is None
    settings.USE_TZ = True
    assert sql.now().tzinfo is UTC


class RolledBack(Exception):
    pass


def _prepared_runs(cursor_sql: str) -> list[tuple[str, int]]:
    """(name, plans made) of this session's prepared statements with this text."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, generic_plans + custom_plans FROM pg_prepared_statements "
            "WHERE statement = %s",
            [cursor_sql],
        )
        return cursor.fetchall()


@pytest.mark.skipif(not sql.is_postgres(), reason="prepared statements are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_prepared_statements_outlive_a_rolled_back_transaction():
    """`sql.keep_prepared_statements`: psycopg forgot its prepared statements at every ROLLBACK
    (every error response, a lost race's 409 included), so the engine's were never prepared
    under load. A statement prepared before a rollback is used after it, not prepared again;
    DEALLOCATE ALL still makes psycopg forget them (it would otherwise name one that is gone)."""
    from django.db import connection, transaction

    statement = "SELECT %s::bigint + 1 AS kept_across_rollbacks"
    server_text = "SELECT $1::bigint + 1 AS kept_across_rollbacks"
    threshold = connection.connection.prepare_threshold
    assert threshold is not None
    for n in range(threshold + 1):
        assert sql.execute(statement, [n])[0] == [(n + 1,)]
    ((name, runs),) = _prepared_runs(server_text)

    def run_and_roll_back(value: int, *, nested: bool) -> None:
        with transaction.atomic(), transaction.atomic(savepoint=nested):
            sql.execute(statement, [value])
            raise RolledBack

    with pytest.raises(RolledBack):
        run_and_roll_back(1, nested=False)  # a real ROLLBACK
    with pytest.raises(RolledBack):
        run_and_roll_back(2, nested=True)  # and ROLLBACK TO SAVEPOINT
    assert sql.execute(statement, [41])[0] == [(42,)]
    assert _prepared_runs(server_text) == [(name, runs + 3)]  # the same statement, run again

    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    assert _prepared_runs(server_text) == []
    assert sql.execute(statement, [6])[0] == [(7,)]  # not the deallocated name: no error


@pytest.mark.skipif(not sql.is_postgres(), reason="prepared statements are PostgreSQL's")
@pytest.mark.django_db
def test_the_orms_hot_reads_are_prepared_too(tenant):
    """README (DB_SERVER_SIDE_BINDING, on by default): an ORM query run often enough on a
    connection is prepared, as the engine's are, not planned again on every run."""
    from django.db import connection

    from tenants.models import Tenant

    for _ in range(connection.connection.prepare_threshold + 1):
        assert Tenant.objects.filter(pk=tenant.pk).values_list("slug", flat=True)[0]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ['SELECT "tenants_tenant"."slug" AS "slug" FROM "tenants_tenant" WHERE%'],
        )
        assert cursor.fetchone()[0] == 1


@pytest.mark.parametrize(("value", "expected"), [(None, True), ("0", False), ("1", True)])
def test_server_side_binding_follows_its_setting(value, expected):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k != "DB_SERVER_SIDE_BINDING"}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.base",
        DATABASE_URL="postgres://nobody@127.0.0.1:5432/none",
    )
    if value is not None:
        env["DB_SERVER_SIDE_BINDING"] = value
    probe = (
        "import django; django.setup(); from django.conf import settings; "
        "print('PROBE', settings.DATABASES['default']['OPTIONS'].get('server_side_binding'))"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", probe],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert f"PROBE {expected if expected else None}" in result.stdout, result.stderr[-2000:]
