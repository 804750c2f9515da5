"""The engine's statements that insert: a chain's runs with their step runs (and a new subject),
and a human task with its ballots and the transition log, each in one statement on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models

from workflows.engine.rows import (
    concrete_fields,
    insert,
    insert_sql,
    insert_statement,
    model_field,
    save,
)
from workflows.engine.rules import REQUIRED_SQL, Need
from workflows.engine.sql import Statement, batch, cached, execute, is_postgres, qn, to_json
from workflows.engine.store import (
    PREVIOUS_DECIDER_SQL,
    TRANSITION_COLUMNS,
    TRANSITION_KEYS,
    TRANSITION_RECORD,
    transitions_statement,
)
from workflows.models import HumanTask, StateTransition, StepRun, TaskBallot, WorkflowRun

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
    run_fields = [model_field(WorkflowRun, n) for n in _RUN_FIELDS]
    step_fields = [model_field(StepRun, n) for n in _STEP_FIELDS]

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
        subject_sql, _ = insert_sql(subject)
        head, subject_id = f"subj AS ({subject_sql}), ", "(SELECT id FROM subj)"
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
    params: Sequence[Any] = ()
    if new_subject is not None:
        params = insert_statement(new_subject)[1]
    sql = _insert_runs_sql(type(new_subject) if new_subject is not None else None)
    rows, _ = execute(sql, [*params, to_json(run_rows), to_json(step_rows)])
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


_COUNTS = ("eligible_count", "required_approvals")


@cached
def _open_task_sql(
    step_sql: str | None, eligible_sql: str | None, fresh: bool = False
) -> tuple[str, tuple]:
    counted = eligible_sql is not None
    targets = tuple(
        f
        for f in concrete_fields(HumanTask)
        if not f.primary_key and not (counted and f.name in _COUNTS)
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
        f"tr AS (INSERT INTO {qn(StateTransition._meta.db_table)} ({TRANSITION_COLUMNS}) "
        f"SELECT {TRANSITION_COLUMNS} FROM (SELECT n, {TRANSITION_COLUMNS} "
        f"FROM jsonb_to_recordset(%s::jsonb) AS x(n integer, {TRANSITION_RECORD}) "
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
    required = REQUIRED_SQL.format(count="(SELECT count(*) FROM e)")  # the rule's `Need`
    assert eligible_sql is not None
    sql = (
        f"WITH {step}e AS ({chosen_sql(eligible_sql, fresh)}), "
        f"t AS (INSERT INTO {table} ({names}) "
        f"SELECT {row}, (SELECT count(*) FROM e), {required} {source} RETURNING id, tenant_id), "
        f"b AS (INSERT INTO {qn(TaskBallot._meta.db_table)} (tenant_id, task_id, user_id, comment,"
        " data) SELECT t.tenant_id, t.id, e.uid, '', '{}' FROM t CROSS JOIN e), "
        f"{transitions} SELECT t.id, (SELECT count(*) FROM e) FROM t"
    )
    return sql, targets


def chosen_sql(eligible_sql: str, fresh: bool = False) -> str:
    # The eligible users but the submitter (the first parameter; NULL excludes nobody) and,
    # if `fresh`, but whoever decided a task of the same subject (tenant, type, id: the next
    # three parameters) or decided in this operation, themselves or through their delegate
    # (the last two: the writes of that decision travel with this statement, which does not
    # see them). The task being opened is not
    # among them: on PostgreSQL it is inserted by the same statement (invisible to its
    # snapshot), on SQLite it has no decision yet.
    sql = f"SELECT uid FROM ({eligible_sql}) AS el WHERE (CAST(%s AS BIGINT) IS NULL OR uid <> %s)"
    if fresh:
        decided = PREVIOUS_DECIDER_SQL.format(
            tenant="%s", subject_type="%s", subject_id="%s", extra="", uid="el.uid"
        )
        sql += (
            f" AND NOT EXISTS ({decided}) AND uid <> COALESCE(CAST(%s AS BIGINT), 0) "
            "AND uid <> COALESCE(CAST(%s AS BIGINT), 0)"
        )
    return sql


def open_task(
    task: HumanTask,
    step_statement: Statement | None,
    eligible: Statement | None,
    need: Need | None,
    *,
    pending: Sequence[Statement] = (),
    transitions: Sequence[tuple] = (),
    recorded_by: tuple[int | None, str, Any] = (None, "", None),
    fresh: bool = False,
    deciders: tuple[int | None, int | None] = (None, None),
) -> int:
    """After `pending`, write the step run (`step_statement`, None if it was inserted already
    as it is), insert `task` and, for
    approvals, a ballot per eligible user (`eligible` selects their ids as `uid`) with the
    task's counts, and the transition log: `transitions` (rows as `transitions_statement`
    takes them), then the task's own "" -> pending, recorded by (actor_id, comment, when).
    One statement on PostgreSQL. Sets task.pk and, for approvals, the counts; returns the
    eligible count (0 for a task without ballots).

    `need`: the approvals required (a vote's rule), worked out from the eligible count by
    the same statement. `fresh`: leave out of the eligible whoever decided a task of the
    same subject (an approval step's `exclude_previous_deciders`), and `deciders` (who decided
    in the same operation, and for whom if a delegate), whose decision `pending` may still
    hold."""
    actor_id, comment, when = recorded_by
    exclude = None if task.allow_self_approval else task.submitted_by_id
    eligible_sql, eligible_params = eligible if eligible is not None else (None, ())
    chosen_params = [*eligible_params, exclude, exclude]
    if fresh:  # separation of duties: the subject whose deciders get no ballot
        chosen_params += [task.tenant_id, task.subject_type, task.subject_id]
        chosen_params += list(deciders)
    if is_postgres():
        sql, targets = _open_task_sql(step_statement and step_statement[0], eligible_sql, fresh)
        log_rows = to_json(
            [
                {"n": n, **dict(zip(TRANSITION_KEYS, row, strict=True))}
                for n, row in enumerate(transitions)
            ]
        )
        params = [
            *(step_statement[1] if step_statement else ()),
            *(chosen_params if eligible is not None else []),
            *((need or Need()).sql_params() if eligible is not None else []),
            to_json({f.column: getattr(task, f.attname) for f in targets}),
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
        if eligible_sql is not None:
            _, eligible_count = execute(
                f"INSERT INTO {qn(TaskBallot._meta.db_table)} (tenant_id, task_id, user_id, "
                f"comment, data) SELECT %s, %s, uid, '', '{{}}' "
                f"FROM ({chosen_sql(eligible_sql, fresh)}) AS e",
                [task.tenant_id, task.pk, *chosen_params],
            )
        own = (task.tenant_id, "task", task.pk, "", "pending", actor_id, comment, when)
        execute(*transitions_statement([*transitions, own]))
    if eligible is None:
        return 0
    task.eligible_count = eligible_count
    task.required_approvals = (need or Need()).of(eligible_count)
    if not is_postgres():
        save(task, _COUNTS)
    return eligible_count
