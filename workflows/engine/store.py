"""The engine's reads and writes on its hot path, as few hand-written statements as possible.

Through the ORM a decision cost a dozen round trips, each paying for query compilation and
`Model.save()` far more than for the statement itself. Here a decision is two statements:
`lock_task` (the task, its step run and run, the voter's ballot, and what comes next), then
everything the decision changes in one (see `TransitionLog.defer` and `open_task`); creating
a transfer is three. The runner keeps working with model instances (callers render them);
this module writes exactly the columns the runner changed, scoped by tenant_id like every
query. Statements are built once per process and, on PostgreSQL, prepared by the server
(server-side binding; DB_PREPARE_THRESHOLD).

On PostgreSQL, statements that do not read each other's results travel together as one
statement (data-modifying CTEs run exactly once, all on the same snapshot; see `batch`).
Elsewhere (SQLite, the embedded default) the same statements run one after another.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any
from uuid import UUID

import orjson
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models import signals
from django.db.models.base import ModelState
from django.db.models.expressions import Col
from django.dispatch.dispatcher import NO_RECEIVERS
from psycopg.types.json import Jsonb

from workflows.models import HumanTask, StateTransition, Step, StepRun, TaskBallot, WorkflowRun

Statement = tuple[str, Sequence[Any]]

_TRANSITION_KEYS = (
    "tenant_id",
    "object_type",
    "object_id",
    "from_status",
    "to_status",
    "actor_id",
    "comment",
    "created_at",
)
_TRANSITION_COLUMNS = ", ".join(_TRANSITION_KEYS)
_TRANSITION_RECORD = (
    "tenant_id bigint, object_type text, object_id bigint, from_status text, to_status text, "
    "actor_id bigint, comment text, created_at timestamptz"
)


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


def is_postgres() -> bool:
    return vendor() == "postgresql"


_KEPT_CURSORS = 64  # distinct hot statements are a few dozen; more is a leak, start over


def _postgres_cursor(db: Any, sql: str) -> Any:
    """A server-binding cursor, so that psycopg prepares these few statements that run over
    and over (DB_PREPARE_THRESHOLD), in Django's wrapper: query logging and counting, execute
    wrappers and error translation all apply.

    One per statement, kept per connection: psycopg keeps a cursor's adapters (how to dump
    each parameter, load each column) while it runs the same query again, and builds them
    anew for a different one. Not kept while queries are logged (the debug wrapper is chosen
    per cursor)."""
    from django.db.backends.postgresql.base import ServerBindingCursor

    db.validate_thread_sharing()
    raw = db.connection
    if raw is None or raw.closed:
        db.ensure_connection()
        raw = db.connection
    if db.queries_logged:
        return db._prepare_cursor(_fast_timestamps(ServerBindingCursor(raw)))
    kept = getattr(db, "_engine_cursors", None)
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
    from django.db.backends.postgresql.base import TIMESTAMPTZ_OID
    from psycopg.pq import Format

    django_loader = cursor.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    utc = getattr(django_loader, "timezone", None) is datetime.UTC
    if utc and cursor.connection.info.parameter_status("TimeZone") == "UTC":
        fast = psycopg.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
        cursor.adapters.register_loader(TIMESTAMPTZ_OID, fast)
    return cursor


def execute(sql: str, params: Sequence[Any]) -> tuple[list[tuple], int]:
    """Run one statement: (rows, rowcount)."""
    db = connections[DEFAULT_DB_ALIAS]
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


# --- reading rows into instances -------------------------------------------------------------


@cache
def _fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    return tuple(model._meta.concrete_fields)


@cached
def columns(model: type[models.Model], alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(f"{prefix}{qn(f.column)}" for f in _fields(model))


@cache
def _converters(model: type[models.Model], vendor: str) -> tuple[tuple[Any, list], ...]:
    # What the ORM's compiler applies to each column (JSON parsing, SQLite datetimes, ...).
    table = model._meta.db_table
    out = []
    for field in _fields(model):
        expression = Col(table, field)
        found = connection.ops.get_db_converters(expression) + expression.get_db_converters(
            connection
        )
        out.append((expression, found))
    return tuple(out)


@cache
def _attnames(model: type[models.Model]) -> list[str]:
    return [f.attname for f in _fields(model)]


def _plain_init(model: type[models.Model]) -> bool:
    """No pre_init/post_init receiver for `model`: its instances may be built without
    `Model.__init__`. The signals remember a sender without receivers until one connects."""
    for signal in (signals.pre_init, signals.post_init):
        known_none = signal.sender_receivers_cache.get(model) is NO_RECEIVERS
        if not known_none and signal.has_listeners(model):
            return False
    return True


def instance(model: type[models.Model], values: Sequence[Any], db: Any = None) -> Any:
    """A model instance from a row selected with `columns(model, ...)`: what `Model.from_db`
    builds, without `Model.__init__`'s work per field when no init signal listens (several
    instances per decision; the values go straight into the instance's __dict__, as the
    field descriptors would put them into a new instance). `db`: the default connection, if
    the caller has it."""
    db = db or connections[DEFAULT_DB_ALIAS]
    converted = list(values)
    for index, (expression, found) in enumerate(_converters(model, db.vendor)):
        for converter in found:
            converted[index] = converter(converted[index], expression, db)
    if not _plain_init(model):
        return model.from_db(DEFAULT_DB_ALIAS, _attnames(model), converted)
    obj = model.__new__(model)
    obj.__dict__.update(zip(_attnames(model), converted, strict=True))
    state = obj._state = ModelState()
    state.adding, state.db = False, DEFAULT_DB_ALIAS
    return obj


@cache
def _init_fields(model: type[models.Model]) -> tuple[tuple[str, str, Any, models.Field, Any], ...]:
    # (name, attname, the related field's attname for a foreign key else None, field, what
    # gives its default: Field.get_default without its frame, but for a foreign key's)
    return tuple(
        (
            f.name,
            f.attname,
            f.target_field.attname if f.many_to_one else None,
            f,
            f.get_default if f.many_to_one else f._get_default,
        )
        for f in _fields(model)
    )


def new(model: type[models.Model], **values: Any) -> Any:
    """`model(**values)` for a new row, without `Model.__init__`'s generic work when no init
    signal listens: fields take `values` (a foreign key by name as an instance, or by attname
    as an id) or their defaults. Several new rows per transfer go through here."""
    if not _plain_init(model):
        return model(**values)
    obj = model.__new__(model)
    obj._state = ModelState()
    data = obj.__dict__
    for name, attname, target, field, default in _init_fields(model):
        if name in values:
            value = values.pop(name)
            if target is None:
                data[attname] = value
            elif value is None:
                data[attname] = None
            else:  # a related instance: its id on the row, itself in the cache
                data[attname] = getattr(value, target)
                field.set_cached_value(obj, value)
        elif attname in values:
            data[attname] = values.pop(attname)
        else:
            data[attname] = default()
    for name, value in values.items():  # `pk` and other properties, as Model.__init__ allows
        if not isinstance(getattr(model, name, None), property):
            raise TypeError(f"{model.__name__}() got an unexpected keyword argument '{name}'")
        setattr(obj, name, value)
    return obj


def width(model: type[models.Model]) -> int:
    return len(_fields(model))


# --- writing instances back ------------------------------------------------------------------


@cached
def _update_sql(
    model: type[models.Model], fields: tuple[str, ...], guards: tuple[str, ...]
) -> tuple[str, Preparers]:
    targets = tuple(model._meta.get_field(name) for name in fields)
    sets = ", ".join(f"{qn(f.column)} = %s" for f in targets)
    where = "".join(f" AND {qn(model._meta.get_field(g).column)} = %s" for g in guards)
    table = qn(model._meta.db_table)
    sql = f"UPDATE {table} SET {sets} WHERE tenant_id = %s AND id = %s{where}"
    return sql, _preparers(targets)


# Values PostgreSQL takes as they are: no need for Field.get_db_prep_save (a JSON field, for
# one, needs it; SQLite needs it for most types).
_AS_IS = {
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "DateTimeField",
    "ForeignKey",
    "IntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "TextField",
}


Preparers = tuple[tuple[str, Any], ...]


def _preparers(targets: Sequence[models.Field]) -> Preparers:
    """(attname, how to put a value into database form, or None: as it is) per field. Built
    with the statements that use them, which are cached per vendor."""
    postgres = vendor() == "postgresql"
    as_is = _AS_IS if postgres else set()

    def preparer(field: models.Field) -> Any:
        if field.get_internal_type() in as_is:
            return None
        if postgres and isinstance(field, models.JSONField) and field.encoder is None:
            return _jsonb  # what get_db_prep_save gives, encoded by orjson
        return field.get_db_prep_save

    return tuple((f.attname, preparer(f)) for f in targets)


def _jsonb(value: Any, db: Any) -> Jsonb:
    return Jsonb(value, dumps=_json)


def _as_stored(preparers: Preparers, values: Sequence[Any]) -> list[Any]:
    """Values as the database takes them."""
    out = list(values)
    for index, (_, prepare) in enumerate(preparers):
        if prepare is not None:
            out[index] = prepare(out[index], connections[DEFAULT_DB_ALIAS])
    return out


def _prepared(obj: models.Model, preparers: Preparers) -> list[Any]:
    return _as_stored(preparers, [getattr(obj, attname) for attname, _ in preparers])


def update(
    obj: models.Model, fields: Sequence[str], *, guard: dict[str, Any] | None = None
) -> Statement:
    """UPDATE the given fields of one row from the instance: what `save(update_fields=...)`
    writes, without its overhead (no signals; auto_now fields are the caller's business).
    `guard`: the row must still have these values (e.g. a status), else nothing changes."""
    guard = guard or {}
    sql, preparers = _update_sql(type(obj), tuple(fields), tuple(guard))
    params = [*_prepared(obj, preparers), obj.tenant_id, obj.pk, *guard.values()]  # type: ignore[attr-defined]
    return sql, params


def as_stored(model: type[models.Model], field: str, value: Any) -> Any:
    """A value as the database takes it (PostgreSQL takes most as they are)."""
    return _as_stored(_field_preparers(model, field), [value])[0]


@cached
def _field_preparers(model: type[models.Model], field: str) -> Preparers:
    return _preparers([model._meta.get_field(field)])


def update_row(
    model: type[models.Model],
    tenant_id: int,
    pk: int,
    values: dict[str, Any],
    *,
    guard: dict[str, Any] | None = None,
) -> Statement:
    """`update` without an instance: `values` by field name."""
    guard = guard or {}
    sql, preparers = _update_sql(model, tuple(values), tuple(guard))
    return sql, [*_as_stored(preparers, list(values.values())), tenant_id, pk, *guard.values()]


def save(obj: models.Model, fields: Sequence[str], *, guard: dict[str, Any] | None = None) -> int:
    """Write `fields` of one row; the number of rows changed (0 if a guard did not hold)."""
    return execute(*update(obj, fields, guard=guard))[1]


@cached
def _insert_sql(model: type[models.Model]) -> tuple[str, Preparers]:
    targets = tuple(f for f in _fields(model) if not f.primary_key)
    names = ", ".join(qn(f.column) for f in targets)
    holes = ", ".join(["%s"] * len(targets))
    return (
        f"INSERT INTO {qn(model._meta.db_table)} ({names}) VALUES ({holes}) RETURNING id",
        _preparers(targets),
    )


def insert_statement(obj: models.Model) -> Statement:
    """INSERT of a new instance, every column from the instance; returns the new id."""
    for field in _fields(type(obj)):
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            field.pre_save(obj, add=True)
    sql, preparers = _insert_sql(type(obj))
    return sql, _prepared(obj, preparers)


def insert(obj: models.Model) -> None:
    """Insert a new instance (what `save()` does for a new row, without signals); sets pk."""
    rows, _ = execute(*insert_statement(obj))
    obj.pk = rows[0][0]
    obj._state.adding = False


# --- the engine's statements -----------------------------------------------------------------

_T, _S, _R = width(HumanTask), width(StepRun), width(WorkflowRun)


def steps_of(tenant_id: int, workflow_ids: Sequence[int]) -> list[tuple]:
    """(workflow_id, order, name, action, config) of the workflows' steps, in order."""
    if not workflow_ids:
        return []
    holes = ", ".join(["%s"] * len(workflow_ids))
    rows, _ = execute(
        f"SELECT workflow_id, {qn('order')}, name, action, config FROM {qn(Step._meta.db_table)} "
        f"WHERE tenant_id = %s AND workflow_id IN ({holes}) "
        f"ORDER BY workflow_id, {qn('order')}, id",
        [tenant_id, *workflow_ids],
    )
    return [step_snapshot(*row) for row in rows]


def step_snapshot(workflow_id: int, order: int, name: str, action: str, config: Any) -> tuple:
    """A step as `steps_of` gives it, from its columns as selected (config still JSON text)."""
    parsed = Step._meta.get_field("config").from_db_value(config, None, connection)
    return workflow_id, order, name, action, parsed


_RUN_FIELDS = (
    "tenant_id",
    "workflow_id",
    "workflow_name",
    "workflow_code",
    "subject_type",
    "subject_id",
    "sequence",
    "chain_length",
    "status",
    "step_count",
    "submitted_by_id",
    "created_at",
    "started_at",
)
_STEP_FIELDS = (
    "tenant_id",
    "position",
    "order",
    "name",
    "action",
    "config",
    "status",
    "attempts",
    "result",
    "last_error",
    "idempotency_key",
    "started_at",
)


@cached
def _insert_runs_sql(subject: type[models.Model] | None) -> str:
    run_fields = [WorkflowRun._meta.get_field(n) for n in _RUN_FIELDS]
    step_fields = [StepRun._meta.get_field(n) for n in _STEP_FIELDS]

    def record(fields: list, extra: str = "") -> str:
        return extra + ", ".join(f"{qn(f.column)} {f.db_type(connection)}" for f in fields)

    run_columns = ", ".join(qn(f.column) for f in run_fields)
    run_values = ", ".join(
        "(SELECT id FROM subj)" if subject and f.name == "subject_id" else qn(f.column)
        for f in run_fields
    )
    step_columns = ", ".join(qn(f.column) for f in step_fields)
    step_values = ", ".join(f"x.{qn(f.column)}" for f in step_fields)
    head, subject_id = "", "NULL"
    if subject is not None:
        insert_sql, _ = _insert_sql(subject)
        head, subject_id = f"subj AS ({insert_sql}), ", "(SELECT id FROM subj)"
    # Two JSON parameters (the runs, then the steps keyed to a run by sequence): much cheaper
    # to send than an array per column.
    sql = (
        f"WITH {head}r AS (INSERT INTO {qn(WorkflowRun._meta.db_table)} ({run_columns}) "
        f"SELECT {run_values} FROM jsonb_to_recordset(%s::jsonb) AS x({record(run_fields)}) "
        "RETURNING id, sequence), "
        f"s AS (INSERT INTO {qn(StepRun._meta.db_table)} (run_id, {step_columns}) "
        f"SELECT r.id, {step_values} FROM jsonb_to_recordset(%s::jsonb) "
        f"AS x({record(step_fields, 'seq integer, ')}) JOIN r ON r.sequence = x.seq "
        "RETURNING id, run_id, position) "
        f"SELECT r.id, r.sequence, s.id, s.position, {subject_id} "
        "FROM r LEFT JOIN s ON s.run_id = r.id"
    )
    return sql


def insert_runs(
    runs: Sequence[WorkflowRun],
    step_runs: Sequence[Sequence[StepRun]],
    new_subject: models.Model | None = None,
) -> None:
    """Insert runs (distinct sequences) and their step runs (`step_runs[i]` belong to
    `runs[i]`), after `new_subject`, a new row whose id becomes the runs' subject_id; sets
    every pk. One statement on PostgreSQL."""
    if not is_postgres():
        if new_subject is not None:
            insert(new_subject)
            for run in runs:
                run.subject_id = new_subject.pk
        WorkflowRun.objects.bulk_create(runs)
        for run, steps in zip(runs, step_runs, strict=True):
            for step in steps:
                step.run = run
        StepRun.objects.bulk_create([step for steps in step_runs for step in steps])
        return
    run_rows = [{name: getattr(run, name) for name in _RUN_FIELDS} for run in runs]
    step_rows = [
        {"seq": run.sequence, **{name: getattr(step, name) for name in _STEP_FIELDS}}
        for run, steps in zip(runs, step_runs, strict=True)
        for step in steps
    ]
    params: list[Any] = []
    if new_subject is not None:
        params = insert_statement(new_subject)[1]
    sql = _insert_runs_sql(type(new_subject) if new_subject is not None else None)
    rows, _ = execute(sql, [*params, _json(run_rows), _json(step_rows)])
    if new_subject is not None:
        new_subject.pk, new_subject._state.adding = rows[0][4], False
        for run in runs:
            run.subject_id = new_subject.pk
    by_sequence = {run.sequence: run for run in runs}
    by_position = {
        (run.sequence, step.position): step
        for run, steps in zip(runs, step_runs, strict=True)
        for step in steps
    }
    for run_id, sequence, step_id, position, _ in rows:
        run = by_sequence[sequence]
        run.pk = run_id
        run._state.adding = False
        if step_id is not None:
            step = by_position[(sequence, position)]
            step.pk = step_id
            step._state.adding = False
    for run, steps in zip(runs, step_runs, strict=True):
        for step in steps:
            step.run = run


def lock_task(
    tenant_id: int,
    *,
    task_id: int | None = None,
    subject: tuple[str, int] | None = None,
    action: str = "",
    status: str = "",
    voter_id: int | None = None,
) -> HumanTask | None:
    """One task with its step run and run, locked (FOR UPDATE of the task, then of the
    voter's ballot), in one query.

    By id, or the oldest task of a subject with the given action and status. Sets
    `task.voter_ballot` to the state of `voter_id`'s ballot: None (has none), "open" or
    "decided", read after the task's lock was granted (the ballot is locked too, so a
    request that waited behind the same voter's first one sees that vote); ballots change
    only under these locks, so it holds until the transaction ends.

    Also reads what a decision may move on to, so that it needs no further read: the run's
    next step run (`step_run.next_step`) and the next run of the chain with its first step
    run (`run.next_in_chain`: None if there is none). Those rows change only when this task's
    run finishes, which happens only under this lock."""
    if task_id is not None:
        params = [task_id]
    else:
        assert subject is not None
        params = [*subject, status, action]
    sql = _lock_task_sql(task_id is not None)
    if is_postgres():
        rows, _ = execute(sql, [tenant_id, *params, voter_id])
    else:
        rows, _ = execute(sql, [voter_id, tenant_id, *params])
    if not rows:
        return None
    row, db = rows[0], connections[DEFAULT_DB_ALIAS]
    task = instance(HumanTask, row[:_T], db)
    step_run = instance(StepRun, row[_T : _T + _S], db)
    run = instance(WorkflowRun, row[_T + _S : _T + _S + _R], db)
    at = _T + _S + _R
    step_run.next_step = instance(StepRun, row[at : at + _S], db) if row[at] is not None else None
    at += _S
    if row[at] is None:
        run.next_in_chain = None
    else:
        next_run = instance(WorkflowRun, row[at : at + _R], db)
        first = row[at + _R : at + _R + _S]
        run.next_in_chain = (
            next_run,
            instance(StepRun, first, db) if first[0] is not None else None,
        )
    ballot_id, ballot_open = row[-2:]
    task.voter_ballot = None if ballot_id is None else ("open" if ballot_open else "decided")
    HumanTask.step_run.field.set_cached_value(task, step_run)
    HumanTask.run.field.set_cached_value(task, run)
    StepRun.run.field.set_cached_value(step_run, run)
    return task


@cached
def _lock_task_sql(by_id: bool) -> str:
    if by_id:
        where = "t.id = %s"
    else:
        where = "t.subject_type = %s AND t.subject_id = %s AND t.status = %s AND t.action = %s"
    steps, runs = qn(StepRun._meta.db_table), qn(WorkflowRun._meta.db_table)
    ballots = qn(TaskBallot._meta.db_table)
    select = (
        f"SELECT {columns(HumanTask, 't')}, {columns(StepRun, 's')}, {columns(WorkflowRun, 'r')}, "
        f"{columns(StepRun, 'ns')}, {columns(WorkflowRun, 'nr')}, {columns(StepRun, 'nf')}, "
        "b.id, b.decision IS NULL "
    )
    joins = (
        f"JOIN {steps} s ON s.id = t.step_run_id "
        f"JOIN {runs} r ON r.id = t.run_id "
        f"LEFT JOIN {steps} ns ON ns.tenant_id = s.tenant_id AND ns.run_id = s.run_id "
        "AND ns.position = s.position + 1 "
        f"LEFT JOIN {runs} nr ON nr.tenant_id = r.tenant_id AND nr.subject_type = r.subject_type "
        "AND nr.subject_id = r.subject_id AND nr.sequence = r.sequence + 1 "
        f"LEFT JOIN {steps} nf ON nf.tenant_id = nr.tenant_id AND nf.run_id = nr.id "
        "AND nf.position = 0 "
    )
    voter = "b.tenant_id = t.tenant_id AND b.task_id = t.id AND b.user_id = %s"
    if not is_postgres():
        # SQLite: one writer at a time, nothing to lock.
        return (
            f"{select}FROM {qn(HumanTask._meta.db_table)} t {joins}"
            f"LEFT JOIN {ballots} b ON {voter} "
            f"WHERE t.tenant_id = %s AND {where} ORDER BY t.id LIMIT 1"
        )
    # The task first (the CTE), then the voter's ballot (the lateral subquery runs for the
    # locked task row). Locking the ballot is what makes a request that waited for the task
    # see the ballot as the request before it left it: under READ COMMITTED only locked rows
    # are read again after a wait, a row merely joined keeps the statement's snapshot.
    return (
        f"WITH t AS MATERIALIZED (SELECT {columns(HumanTask, 't')} "
        f"FROM {qn(HumanTask._meta.db_table)} t "
        f"WHERE t.tenant_id = %s AND {where} ORDER BY t.id LIMIT 1 FOR UPDATE) "
        f"{select}FROM t {joins}"
        f"LEFT JOIN LATERAL (SELECT b.id, b.decision FROM {ballots} b WHERE {voter} "
        "FOR UPDATE) b ON true"
    )


@cached
def _vote_sql() -> str:
    return (
        f"UPDATE {qn(TaskBallot._meta.db_table)} SET decision = %s, comment = %s, "
        "decided_at = %s WHERE tenant_id = %s AND task_id = %s AND user_id = %s "
        "AND decision IS NULL"
    )


def vote(task: HumanTask, voter_id: int, ballot: tuple[str, str, Any]) -> Statement:
    """The statement that writes `ballot` (decision, comment, decided_at) over the voter's open
    ballot on `task`."""
    decision, comment, decided_at = ballot
    decided_at = as_stored(TaskBallot, "decided_at", decided_at)
    return _vote_sql(), [decision, comment, decided_at, task.tenant_id, task.pk, voter_id]


@cached
def _close_ballots_sql(keep_voter: bool) -> str:
    voter = " AND user_id <> %s" if keep_voter else ""
    return (
        f"DELETE FROM {qn(TaskBallot._meta.db_table)} WHERE tenant_id = %s AND task_id = %s "
        f"AND decision IS NULL{voter}"
    )


def close_ballots(task: HumanTask, voter_id: int | None = None) -> Statement:
    """The statement that deletes the open ballots of a task that closes: who never voted
    keeps no row (the inbox then reads only open work; `eligible_count` keeps how many could
    have decided, the audit trail who). `voter_id`: the ballot the same batch writes (see
    `vote`), left alone, as `batch` wants."""
    params = [task.tenant_id, task.pk]
    if voter_id is not None:
        params.append(voter_id)
    return _close_ballots_sql(voter_id is not None), params


@cached
def _step_at_sql() -> str:
    return (
        f"SELECT {columns(StepRun, 's')} FROM {qn(StepRun._meta.db_table)} s "
        "WHERE s.tenant_id = %s AND s.run_id = %s AND s.position = %s"
    )


def save_and_fetch_step(
    step_run: StepRun, fields: Sequence[str], position: int, pending: Sequence[Statement] = ()
) -> StepRun:
    """Write `step_run` (after `pending`) and read the step run at `position` of the same run,
    in one statement."""
    rows, _ = batch(
        [
            *pending,
            update(step_run, fields),
            (_step_at_sql(), [step_run.tenant_id, step_run.run_id, position]),
        ]
    )
    return instance(StepRun, rows[0])


@cached
def _start_run_sql(with_first_step: bool) -> str:
    where = "subject_type = %s AND subject_id = %s AND sequence = %s"
    run_table, step_table = qn(WorkflowRun._meta.db_table), qn(StepRun._meta.db_table)
    start = (
        f"UPDATE {run_table} SET status = 'running', started_at = %s "
        f"WHERE tenant_id = %s AND {where} AND status = 'not_started'"
    )
    if not with_first_step:
        return f"{start} RETURNING {columns(WorkflowRun)}"
    return (
        f"WITH r AS ({start} RETURNING *) SELECT {columns(WorkflowRun, 'r')}, "
        f"{columns(StepRun, 's')} FROM r LEFT JOIN {step_table} s "
        "ON s.tenant_id = r.tenant_id AND s.run_id = r.id AND s.position = 0"
    )


def start_run(
    tenant_id: int, started_at: Any, *, chain: tuple, pending: Sequence[Statement] = ()
) -> tuple[WorkflowRun, StepRun | None] | None:
    """not_started -> running for the run at (subject_type, subject_id, sequence) `chain`,
    with its first step run, after `pending`. None if that run is not `not_started`."""
    start_params = [as_stored(WorkflowRun, "started_at", started_at), tenant_id, *chain]
    postgres = is_postgres()
    rows, _ = batch([*pending, (_start_run_sql(postgres), start_params)])
    if not rows:
        return None
    run = instance(WorkflowRun, rows[0][:_R])
    if postgres:
        step = instance(StepRun, rows[0][_R:]) if rows[0][_R] is not None else None
    else:
        found, _ = execute(_step_at_sql(), [tenant_id, run.pk, 0])
        step = instance(StepRun, found[0]) if found else None
    if step is not None:
        StepRun.run.field.set_cached_value(step, run)
    return run, step


_COUNTS = ("eligible_count", "required_approvals")


@cached
def _open_task_sql(
    step_sql: str | None, eligible_sql: str | None, required_is_all: bool
) -> tuple[str, tuple]:
    counted = eligible_sql is not None
    targets = tuple(
        f for f in _fields(HumanTask) if not f.primary_key and not (counted and f.name in _COUNTS)
    )
    names = ", ".join(
        qn(f.column)
        for f in (*targets, *(map(HumanTask._meta.get_field, _COUNTS) if counted else ()))
    )
    # The task's columns as one JSON parameter: fewer parameters to send (and psycopg caches
    # the conversion of statements with at most 50).
    table = qn(HumanTask._meta.db_table)
    row = ", ".join(f"p.{qn(f.column)}" for f in targets)
    step = f"step AS ({step_sql}), " if step_sql else ""  # the step run's write, if any
    source = f"FROM jsonb_populate_record(NULL::{table}, %s::jsonb) AS p"
    transitions = (
        f"tr AS (INSERT INTO {qn(StateTransition._meta.db_table)} ({_TRANSITION_COLUMNS}) "
        f"SELECT {_TRANSITION_COLUMNS} FROM (SELECT n, {_TRANSITION_COLUMNS} "
        f"FROM jsonb_to_recordset(%s::jsonb) AS x(n integer, {_TRANSITION_RECORD}) "
        "UNION ALL SELECT 2147483647, t.tenant_id, 'task', t.id, '', 'pending', "
        "CAST(%s AS BIGINT), CAST(%s AS TEXT), CAST(%s AS TIMESTAMPTZ) FROM t) AS q ORDER BY n)"
    )
    if not counted:
        sql = (
            f"WITH {step}t AS (INSERT INTO {table} ({names}) SELECT {row} "
            f"{source} RETURNING id, tenant_id), {transitions} "
            "SELECT t.id, 0 FROM t"
        )
        return sql, targets
    required = "(SELECT count(*) FROM e)" if required_is_all else "%s"
    sql = (
        f"WITH {step}e AS ({_chosen(eligible_sql)}), "
        f"t AS (INSERT INTO {table} ({names}) "
        f"SELECT {row}, (SELECT count(*) FROM e), {required} {source} RETURNING id, tenant_id), "
        f"b AS (INSERT INTO {qn(TaskBallot._meta.db_table)} (tenant_id, task_id, user_id, comment,"
        " data) SELECT t.tenant_id, t.id, e.uid, '', '{}' FROM t CROSS JOIN e), "
        f"{transitions} SELECT t.id, (SELECT count(*) FROM e) FROM t"
    )
    return sql, targets


def _chosen(eligible_sql: str) -> str:
    # The eligible users but the submitter (the first parameter; NULL excludes nobody).
    return f"SELECT uid FROM ({eligible_sql}) AS el WHERE CAST(%s AS BIGINT) IS NULL OR uid <> %s"


def open_task(
    task: HumanTask,
    step_statement: Statement | None,
    eligible: Statement | None,
    required: int | None,
    *,
    pending: Sequence[Statement] = (),
    transitions: Sequence[tuple] = (),
    recorded_by: tuple[int | None, str, Any] = (None, "", None),
) -> int:
    """After `pending`, write the step run (`step_statement`, None if it was inserted already
    as it is), insert `task` and, for
    approvals, a ballot per eligible user (`eligible` selects their ids as `uid`) with the
    task's counts, and the transition log: `transitions` (rows as `transitions_statement`
    takes them), then the task's own "" -> pending, recorded by (actor_id, comment, when).
    One statement on PostgreSQL. Sets task.pk and, for approvals, the counts; returns the
    eligible count (0 for a task without ballots).

    `required` None means "all of the eligible"."""
    actor_id, comment, when = recorded_by
    exclude = None if task.allow_self_approval else task.submitted_by_id
    eligible_sql, eligible_params = eligible if eligible is not None else (None, ())
    if is_postgres():
        sql, targets = _open_task_sql(
            step_statement and step_statement[0], eligible_sql, required is None
        )
        log_rows = _json(
            [
                {"n": n, **dict(zip(_TRANSITION_KEYS, row, strict=True))}
                for n, row in enumerate(transitions)
            ]
        )
        params = [
            *(step_statement[1] if step_statement else ()),
            *([*eligible_params, exclude, exclude] if eligible is not None else []),
            *([] if required is None or eligible is None else [required]),
            _json({f.column: getattr(task, f.attname) for f in targets}),
            log_rows,
            actor_id,
            comment,
            when,
        ]
        rows, _ = batch([*pending, (sql, params)])
        task.pk, eligible_count = rows[0]
        task._state.adding = False
    else:
        if pending or step_statement:
            batch([*pending, *([step_statement] if step_statement else [])])
        insert(task)
        eligible_count = 0
        if eligible is not None:
            _, eligible_count = execute(
                f"INSERT INTO {qn(TaskBallot._meta.db_table)} (tenant_id, task_id, user_id, "
                f"comment, data) SELECT %s, %s, uid, '', '{{}}' FROM ({_chosen(eligible_sql)}) "
                "AS e",
                [task.tenant_id, task.pk, *eligible_params, exclude, exclude],
            )
        own = (task.tenant_id, "task", task.pk, "", "pending", actor_id, comment, when)
        execute(*transitions_statement([*transitions, own]))
    if eligible is None:
        return 0
    task.eligible_count = eligible_count
    task.required_approvals = eligible_count if required is None else required
    if not is_postgres():
        save(task, _COUNTS)
    return eligible_count


def _json(value: Any) -> str:
    # orjson: the row sets of a decision, several times faster than json.dumps (datetimes in
    # ISO 8601 and UUIDs are native; the text is what PostgreSQL's jsonb input takes). What it
    # refuses (integers beyond 64 bits, non-string keys) json.dumps still writes.
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


def transitions_statement(rows: Sequence[tuple]) -> Statement:
    """INSERT of (tenant_id, object_type, object_id, from, to, actor_id, comment, created_at)
    rows into the transition log."""
    table = qn(StateTransition._meta.db_table)
    names = _TRANSITION_COLUMNS
    if is_postgres():
        # One JSON parameter: much cheaper to send than eight arrays.
        return (
            f"INSERT INTO {table} ({names}) SELECT {names} FROM jsonb_to_recordset(%s::jsonb) "
            f"AS x({_TRANSITION_RECORD})",
            [_json([dict(zip(_TRANSITION_KEYS, row, strict=True)) for row in rows])],
        )
    created = StateTransition._meta.get_field("created_at")
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
    params = [
        value if index != 7 else created.get_db_prep_save(value, connection)
        for row in rows
        for index, value in enumerate(row)
    ]
    return f"INSERT INTO {table} ({names}) VALUES {values}", params
