"""The SQL toolkit, part 1: running hand-written statements through Django's connection.

Generic: nothing here knows the engine's models. Statements are built once per process
(`cached`, per vendor) and, on PostgreSQL, prepared by the server (server-side binding;
DB_PREPARE_THRESHOLD). Statements that do not read each other's results travel together as
one (`batch`: data-modifying CTEs run exactly once, all on the same snapshot); elsewhere
(SQLite, the embedded default) the same statements run one after another.

It leans on Django internals (ServerBindingCursor, `_prepare_cursor`, `queries_logged`, the
timestamptz loader): `workflows/tests/test_sql_toolkit.py` pins each, so that a Django
upgrade that changes one fails a test rather than the engine.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any, TypeVar
from uuid import UUID

import orjson
from django.conf import settings
from django.core.signals import setting_changed
from django.db import DEFAULT_DB_ALIAS, connections

Statement = tuple[str, Sequence[Any]]
Rows = list[tuple[Any, ...]]
F = TypeVar("F", bound=Callable[..., Any])


def qn(name: str) -> str:
    # PostgreSQL and SQLite quote identifiers alike; ours are model metadata, never input.
    return name if name.startswith('"') else f'"{name}"'


def vendor() -> str:
    """The default database's vendor (fixed for the life of the process)."""
    global _vendor  # noqa: PLW0603
    if _vendor is None:
        _vendor = connections[DEFAULT_DB_ALIAS].vendor
    return _vendor


_vendor: str | None = None


def cached(build: Any) -> Any:
    """Memoise a statement builder (per vendor: features differ)."""
    memo = cache(lambda vendor, *args: build(*args))

    def wrapper(*args: Any) -> Any:
        return memo(vendor(), *args)

    wrapper.cache_clear = memo.cache_clear  # type: ignore[attr-defined]
    return wrapper


def now() -> datetime:
    """`django.utils.timezone.now()`, which reads settings.USE_TZ through the lazy settings
    object at each call: that costs more than the clock itself, and the engine asks the time
    several times per operation. USE_TZ is read once, and again when a setting changes."""
    global _use_tz  # noqa: PLW0603
    if _use_tz is None:
        _use_tz = bool(settings.USE_TZ)
    return datetime.now(UTC if _use_tz else None)


_use_tz: bool | None = None


def _forget_use_tz(*, setting: str, **kwargs: Any) -> None:
    global _use_tz  # noqa: PLW0603
    if setting == "USE_TZ":
        _use_tz = None


setting_changed.connect(_forget_use_tz)


def is_postgres() -> bool:
    return vendor() == "postgresql"


def _cache_long_statements() -> None:
    """psycopg converts a query's placeholders once and caches the result, but only for queries
    of at most 4,096 characters and 50 parameters (it reads both limits at each call); a
    decision's batched statement is longer, and was converted again on every run. Raise the
    limits so that ours are converted once (the cache keeps 128 queries whatever their size).
    Pinned by workflows/tests/test_sql_toolkit.py."""
    from psycopg import _queries

    _queries.MAX_CACHED_STATEMENT_LENGTH = max(_queries.MAX_CACHED_STATEMENT_LENGTH, 16384)
    _queries.MAX_CACHED_STATEMENT_PARAMS = max(_queries.MAX_CACHED_STATEMENT_PARAMS, 200)


_cache_long_statements()


def keep_prepared_statements(*, connection: Any, **kwargs: Any) -> None:
    """`connection_created` receiver (WorkflowsConfig.ready): psycopg forgets every prepared
    statement, and the counts towards preparing one, at each ROLLBACK, and sends DEALLOCATE
    ALL. Every error response rolls its request back (a lost race's 409 too), so under load the
    engine's statements were planned again on every run and never prepared: a decision's batch
    takes ~4 ms to plan. PostgreSQL keeps prepared statements across a rollback; only a DDL
    rollback could leave one pointing at nothing, and the application's roles run no DDL (the
    other statements that invalidate them, DISCARD ALL, DEALLOCATE ALL, DROP and ALTER, still
    clear them). Pinned by workflows/tests/test_sql_toolkit.py."""
    if connection.vendor != "postgresql" or connection.connection is None:
        return
    from psycopg._preparing import PrepareManager

    manager = connection.connection._prepared
    if type(manager) is PrepareManager:
        manager.__class__ = _kept_across_rollbacks()


@cache
def _kept_across_rollbacks() -> type:
    import re

    from psycopg import pq
    from psycopg._preparing import PrepareManager

    invalidating = re.compile(rb"^(?:DROP|ALTER|DISCARD ALL|DEALLOCATE ALL)\b").match
    command_ok = pq.ExecStatus.COMMAND_OK

    class KeptAcrossRollbacks(PrepareManager):
        def clear(self) -> bool:  # what psycopg calls on ROLLBACK
            return False

        def _should_discard(self, prep: Any, results: Sequence[Any], *args: Any) -> bool:
            for result in results:
                status = result.command_status if result.status == command_ok else None
                if status and invalidating(status):
                    return PrepareManager.clear(self)
            return False

    return KeptAcrossRollbacks


_KEPT_CURSORS = 64  # distinct hot statements are a few dozen; more is a leak, start over


def _postgres_cursor(db: Any, sql: str) -> Any:
    """A server-binding cursor, so that psycopg prepares these few statements that run over
    and over (DB_PREPARE_THRESHOLD), in Django's wrapper: query logging and counting, execute
    wrappers and error translation all apply.

    One per statement, kept per connection: psycopg keeps a cursor's adapters (how to dump
    each parameter, load each column) while it runs the same query again, and builds them
    anew for a different one. Not kept while queries are logged (the debug wrapper is chosen
    per cursor)."""
    from django.db.backends.postgresql.base import (  # type: ignore[attr-defined]
        ServerBindingCursor,
    )

    db.validate_thread_sharing()
    raw = db.connection
    if raw is None or raw.closed:
        db.ensure_connection()
        raw = db.connection
    if db.queries_logged:
        return db._prepare_cursor(_fast_timestamps(ServerBindingCursor(raw)))
    kept: tuple[Any, dict[str, Any]] | None = getattr(db, "_engine_cursors", None)
    if kept is None or kept[0] is not raw or len(kept[1]) >= _KEPT_CURSORS:
        kept = db._engine_cursors = (raw, {})
    cursor = kept[1].get(sql)
    if cursor is None:
        cursor = kept[1][sql] = db._prepare_cursor(_fast_timestamps(ServerBindingCursor(raw)))
    return cursor


def _fast_timestamps(cursor: Any) -> Any:
    """Django loads timestamptz with a subclass of psycopg's pure-Python loader (to set the
    connection's time zone), which parses each value with a regular expression. When that
    zone is UTC and so is the session's, psycopg's compiled loader gives the same values (the
    same tzinfo too): use it on this cursor."""
    import datetime

    import psycopg
    from django.db.backends.postgresql.base import TIMESTAMPTZ_OID  # type: ignore[attr-defined]
    from psycopg.pq import Format

    django_loader = cursor.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    utc = getattr(django_loader, "timezone", None) is datetime.UTC
    if utc and cursor.connection.info.parameter_status("TimeZone") == "UTC":
        fast = psycopg.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
        cursor.adapters.register_loader(TIMESTAMPTZ_OID, fast)
    return cursor


def execute(
    sql: str, params: Sequence[Any], using: str = DEFAULT_DB_ALIAS
) -> tuple[list[tuple], int]:
    """Run one statement: (rows, rowcount). `using`: another connection's alias (a read that
    may be served by the replica: core.db_router)."""
    db = connections[using]
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return (cursor.fetchall() if cursor.description else []), cursor.rowcount
    cursor = _postgres_cursor(db, sql)
    cursor.execute(sql, params)
    result = cursor.cursor.pgresult
    rows = cursor.fetchall() if result is not None and result.status == _TUPLES_OK else []
    return rows, cursor.rowcount


_TUPLES_OK = 2  # libpq's PGRES_TUPLES_OK: the statement returned rows


def batch(statements: Sequence[Statement]) -> tuple[list[tuple], int]:
    """Run statements in order; the result is the last one's. One round trip on PostgreSQL.

    All but the last are plain INSERT/UPDATE/DELETE (no WITH, no result) on rows the others do
    not touch: on PostgreSQL they become data-modifying CTEs of the last, which runs on the
    same snapshot and so does not see their effects. The last may have its own WITH clause."""
    *pieces, (last_sql, last_params) = statements
    if not pieces:
        return execute(last_sql, last_params)
    if not is_postgres():
        for sql, params in pieces:
            execute(sql, params)
        return execute(last_sql, last_params)
    sql = _batched_sql(tuple(sql for sql, _ in statements))
    return execute(sql, [p for _, params in statements for p in params])


@lru_cache(maxsize=256)
def _batched_sql(sqls: tuple[str, ...]) -> str:
    # The same text object each time for the same statements: psycopg then keeps the cursor's
    # adapters (see _postgres_cursor) and finds the prepared statement without rehashing.
    *pieces, last_sql = sqls
    head = ", ".join(f"p{i} AS ({sql})" for i, sql in enumerate(pieces))
    if last_sql.startswith("WITH "):
        return f"WITH {head}, {last_sql[5:]}"
    return f"WITH {head} {last_sql}"


def to_json(value: Any) -> str:
    """JSON text for a jsonb parameter. orjson: the row sets of a decision, several times
    faster than json.dumps (datetimes in ISO 8601 and UUIDs are native; the text is what
    PostgreSQL's jsonb input takes). What it refuses (integers beyond 64 bits, non-string
    keys) json.dumps still writes."""
    try:
        return orjson.dumps(value, default=_json_value).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value, default=_json_value, separators=(",", ":"))


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):  # json.dumps's fallback; orjson has its own
        return value.isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
