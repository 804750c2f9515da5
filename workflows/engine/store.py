"""The engine's own statements on its hot path: as few hand-written statements as possible.

Through the ORM a decision cost a dozen round trips, each paying for query compilation and
`Model.save()` far more than for the statement itself. Here a decision is two statements:
`lock_task` (the task, its step run and run, the voter's ballot, and what comes next, as one
`Locked` value), then everything the decision changes in one (the unit of work's held writes
travel with the next statement: see `uow` and `inserts.open_task`); creating a transfer is
three. The runner keeps working with model instances (callers render them); these statements
write exactly the columns the runner changed, scoped by tenant_id like every query. They are
built with the SQL toolkit (`sql`, `rows`), which knows nothing of the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections

from accounts.models import Delegation, User
from workflows.engine.rows import as_stored, columns, instance, update, width
from workflows.engine.sql import Statement, batch, cached, execute, is_postgres, now, qn, to_json
from workflows.models import HumanTask, StateTransition, Step, StepRun, TaskBallot, WorkflowRun

TRANSITION_KEYS = (
    "tenant_id",
    "object_type",
    "object_id",
    "from_status",
    "to_status",
    "actor_id",
    "comment",
    "created_at",
)
TRANSITION_COLUMNS = ", ".join(TRANSITION_KEYS)
TRANSITION_RECORD = (
    "tenant_id bigint, object_type text, object_id bigint, from_status text, to_status text, "
    "actor_id bigint, comment text, created_at timestamptz"
)


# The tasks of a subject (`{tenant}`, `{subject_type}`, `{subject_id}`) that one of `{uid}` (a
# list of ids or a column) decided: as the task's decider (a form, a vote that closed), by a
# ballot of theirs, or as the delegate who decided someone's ballot. Separation of duties (an
# approval step's `exclude_previous_deciders`) keeps them off the step's task; counting the
# delegate and the delegator both means delegation cannot be used to get round it.
PREVIOUS_DECIDER_SQL = (
    f"SELECT 1 FROM {qn(HumanTask._meta.db_table)} pt WHERE pt.tenant_id = {{tenant}} "
    "AND pt.subject_type = {subject_type} AND pt.subject_id = {subject_id}{extra} "
    "AND (pt.decided_by_id IN ({uid}) "
    f"OR EXISTS (SELECT 1 FROM {qn(TaskBallot._meta.db_table)} pb "
    "WHERE pb.tenant_id = pt.tenant_id AND pb.task_id = pt.id "
    "AND (pb.user_id IN ({uid}) OR pb.acted_by_id IN ({uid})) "
    "AND pb.decision IS NOT NULL))"
)
EXCLUDE_PREVIOUS_DECIDERS = "exclude_previous_deciders"  # the approval step's config key

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
    field: Any = Step._meta.get_field("config")  # its stubs want an expression, not None
    parsed = field.from_db_value(config, None, connection)
    return workflow_id, order, name, action, parsed


class Ballot(StrEnum):
    """The state of the voter's ballot on a locked task."""

    NONE = "none"  # the voter has none: not eligible
    OPEN = "open"
    DECIDED = "decided"


@dataclass(frozen=True, slots=True)
class Locked:
    """A task locked for a decision, with everything the decision may need, read by the same
    statement (`lock_task`): its step run and run, the voter's ballot, and what the run moves
    on to. Those rows change only when this task's run advances, which happens only under
    this lock, so the value holds until the transaction ends."""

    task: HumanTask
    step_run: StepRun
    run: WorkflowRun
    ballot: Ballot
    next_step: StepRun | None  # the run's step run after this one (None: it is the last)
    next_run: WorkflowRun | None  # the chain's next run (same subject, next sequence)
    next_run_first_step: StepRun | None  # its step run at position 0
    # The voter, or the holder of the ballot they would decide, decided another task of the
    # same subject and the step excludes such people (`exclude_previous_deciders`).
    previous_decider: bool = False
    voter_id: int | None = None
    # Whose ballot the voter would decide: their own, or (`Ballot.OPEN` only) the open ballot
    # of someone whose out-of-office delegate they are now. None with `Ballot.NONE`.
    holder_id: int | None = None

    @property
    def on_behalf_of(self) -> int | None:
        """The ballot's holder when the voter decides it as their delegate."""
        holder = self.holder_id
        return holder if holder is not None and holder != self.voter_id else None


def lock_task(
    tenant_id: int,
    *,
    task_id: int | None = None,
    subject: tuple[str, int] | None = None,
    action: str = "",
    status: str = "",
    voter_id: int | None = None,
) -> Locked | None:
    """One task with its step run and run, locked (FOR UPDATE of the task, then of the
    voter's ballot), in one query, as a `Locked`; None if there is no such task.

    By id, or the oldest task of a subject with the given action and status. The ballot's
    state is read after the task's lock was granted (the ballot is locked too, so a request
    that waited behind the same voter's first one sees that vote); ballots change only under
    these locks. The next step run and the next run of the chain with its first step run are
    read too, so that a decision needs no further read."""
    params: list[Any]
    if task_id is not None:
        params = [task_id]
    else:
        assert subject is not None
        params = [*subject, status, action]
    sql = _lock_task_sql(task_id is not None)
    at = as_stored(Delegation, "starts_at", now())
    rows, _ = execute(sql, [voter_id, at, tenant_id, *params])  # see `_VOTER`
    if not rows:
        return None
    row, db = rows[0], connections[DEFAULT_DB_ALIAS]
    task = instance(HumanTask, row[:_T], db)
    step_run = instance(StepRun, row[_T : _T + _S], db)
    run = instance(WorkflowRun, row[_T + _S : _T + _S + _R], db)
    at = _T + _S + _R
    next_step = instance(StepRun, row[at : at + _S], db) if row[at] is not None else None
    at += _S
    next_run = first_step = None
    if row[at] is not None:
        next_run = instance(WorkflowRun, row[at : at + _R], db)
        first = row[at + _R : at + _R + _S]
        first_step = instance(StepRun, first, db) if first[0] is not None else None
    previous_decider, ballot_id, ballot_open, holder_id = row[-4:]
    HumanTask.step_run.field.set_cached_value(task, step_run)
    HumanTask.run.field.set_cached_value(task, run)
    StepRun.run.field.set_cached_value(step_run, run)
    return Locked(
        task,
        step_run,
        run,
        Ballot.NONE if ballot_id is None else Ballot.OPEN if ballot_open else Ballot.DECIDED,
        next_step,
        next_run,
        first_step,
        bool(previous_decider),
        voter_id,
        holder_id,
    )


def _previous_decider() -> str:
    # Whether the voter or the holder of the ballot they would decide
    # decided another task of this task's subject, asked only when the step excludes
    # previous deciders.
    key = EXCLUDE_PREVIOUS_DECIDERS
    flag = (
        f"(s.config ->> '{key}') = 'true'"
        if is_postgres()
        else f"json_extract(s.config, '$.{key}') = 1"
    )
    decided = PREVIOUS_DECIDER_SQL.format(
        tenant="t.tenant_id",
        subject_type="t.subject_type",
        subject_id="t.subject_id",
        extra=" AND pt.id <> t.id",
        uid="v.voter, b.user_id",
    )
    return f"CASE WHEN {flag} THEN EXISTS ({decided}) ELSE false END"


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
        f"{_previous_decider()}, b.id, b.decision IS NULL, b.user_id "
    )
    joins = (
        f"JOIN {steps} s ON s.tenant_id = t.tenant_id AND s.id = t.step_run_id "
        f"JOIN {runs} r ON r.tenant_id = t.tenant_id AND r.id = t.run_id "
        f"LEFT JOIN {steps} ns ON ns.tenant_id = s.tenant_id AND ns.run_id = s.run_id "
        "AND ns.position = s.position + 1 "
        f"LEFT JOIN {runs} nr ON nr.tenant_id = r.tenant_id AND nr.subject_type = r.subject_type "
        "AND nr.subject_id = r.subject_id AND nr.sequence = r.sequence + 1 "
        f"LEFT JOIN {steps} nf ON nf.tenant_id = nr.tenant_id AND nf.run_id = nr.id "
        "AND nf.position = 0 "
    )
    if not is_postgres():
        # SQLite: one writer at a time, nothing to lock.
        return (
            f"WITH v AS ({_VOTER.replace(' AS TIMESTAMPTZ', ' AS TEXT')}) "
            f"{select}FROM {qn(HumanTask._meta.db_table)} t CROSS JOIN v {joins}"
            f"LEFT JOIN {ballots} b ON b.tenant_id = t.tenant_id "
            f"AND b.id = (SELECT c.id {_ballot_sql()} {_BALLOT_ORDER}) "
            f"WHERE t.tenant_id = %s AND {where} ORDER BY t.id LIMIT 1"
        )
    # The task first (the CTE), then the voter's ballot (the lateral subquery runs for the
    # locked task row). Locking the ballots is what makes a request that waited for the task
    # see them as the request before it left them: under READ COMMITTED only locked rows are
    # read again after a wait, a row merely joined keeps the statement's snapshot. So the
    # candidates are locked first (inner query), then the one to decide is picked.
    return (
        f"WITH v AS ({_VOTER}), t AS MATERIALIZED (SELECT {columns(HumanTask, 't')} "
        f"FROM {qn(HumanTask._meta.db_table)} t "
        f"WHERE t.tenant_id = %s AND {where} ORDER BY t.id LIMIT 1 FOR UPDATE) "
        f"{select}FROM t CROSS JOIN v {joins}"
        "LEFT JOIN LATERAL (SELECT c.id, c.decision, c.user_id FROM (SELECT c.id, "
        f"c.decision, c.user_id {_ballot_sql()} FOR UPDATE) c {_BALLOT_ORDER}) b ON true"
    )


# The ballot a voter decides, from `_ballot_sql`'s candidates: one they decided already (own,
# or as a delegate: a second decision is refused), else their own, else the oldest open
# ballot of someone they stand in for. One person, one ballot per task: a delegate who also
# holds a ballot cannot vote twice (four eyes stay four).
# (`v` read by a subquery: SQLite does not resolve an outer column in a subquery's ORDER BY.)
_BALLOT_ORDER = (
    "ORDER BY c.decision IS NOT NULL DESC, c.user_id = (SELECT voter FROM v) DESC, c.id LIMIT 1"
)
# The lock's first two parameters, named once (`v`): the voter (None: nobody's ballot) and the
# time at which delegations count.
_VOTER = "SELECT CAST(%s AS BIGINT) AS voter, CAST(%s AS TIMESTAMPTZ) AS at"


def _ballot_sql() -> str:
    # The FROM and WHERE of the candidate ballots `c` of the voter `v.voter` on task `t`:
    # theirs, the ones they decided as a delegate, and the open ballots of the people whose
    # delegation to them is active at `v.at` (start inclusive, end
    # exclusive; the delegator still active: see `accounts.selectors`). Not transitive: the
    # delegator's own delegate does not count.
    delegations, users = qn(Delegation._meta.db_table), qn(User._meta.db_table)
    return (
        f"FROM {qn(TaskBallot._meta.db_table)} c "
        "WHERE c.tenant_id = t.tenant_id AND c.task_id = t.id AND (c.user_id = v.voter "
        "OR c.acted_by_id = v.voter OR (c.decision IS NULL AND c.user_id IN ("
        f"SELECT d.user_id FROM {delegations} d JOIN {users} u ON u.id = d.user_id "
        "WHERE d.tenant_id = t.tenant_id AND d.delegate_id = v.voter AND d.starts_at <= v.at "
        "AND d.ends_at > v.at AND u.is_active)))"
    )


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


def transitions_statement(rows: Sequence[tuple]) -> Statement:
    """INSERT of (tenant_id, object_type, object_id, from, to, actor_id, comment, created_at)
    rows into the transition log."""
    table = qn(StateTransition._meta.db_table)
    names = TRANSITION_COLUMNS
    if is_postgres():
        # One JSON parameter: much cheaper to send than eight arrays.
        return (
            f"INSERT INTO {table} ({names}) SELECT {names} FROM jsonb_to_recordset(%s::jsonb) "
            f"AS x({TRANSITION_RECORD})",
            [to_json([dict(zip(TRANSITION_KEYS, row, strict=True)) for row in rows])],
        )
    created = StateTransition._meta.get_field("created_at")
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
    params = [
        value if index != 7 else created.get_db_prep_save(value, connection)
        for row in rows
        for index, value in enumerate(row)
    ]
    return f"INSERT INTO {table} ({names}) VALUES {values}", params
