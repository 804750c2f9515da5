"""Engine events (`task.created`, `task.decided`, `run.completed`, `run.failed`,
`transfer.approved`, `transfer.rejected`): what the unit of work records, named for the world
outside. Each becomes one job of kind `engine.event` (`jobs.schedule_statement`), written by a
piece of a statement the operation sends anyway, so an event costs no round trip; the job's
handler (`workflows.event_handlers`) turns it into webhook deliveries and notification emails
after the operation commits (a rolled-back operation leaves no job, hence no event).

A job's key is `event:<event>:<object_type>:<id>`: the same event again while its job is live
is the same job, and webhook deliveries are keyed alike (delivered once). A task is inserted by
the statement that opens it (`inserts.open_task`), so its id is unknown while that statement is
built: its `task.created` travels in that same statement keyed by its step run (one task per
step run), and the handler finds the task.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, NamedTuple

from workflows.engine import jobs
from workflows.engine.sql import Statement, is_postgres, to_json
from workflows.models import HumanTask, RunStatus, TaskStatus

JOB_KIND = "engine.event"

# (object_type, to_status) -> event. Moves not listed (a run started, a task cancelled, a
# transfer created) are no event.
_BY_MOVE: dict[tuple[str, str], str] = {
    ("task", TaskStatus.APPROVED): "task.decided",
    ("task", TaskStatus.REJECTED): "task.decided",
    ("task", TaskStatus.COMPLETED): "task.decided",
    ("run", RunStatus.COMPLETED): "run.completed",
    ("run", RunStatus.FAILED): "run.failed",
    ("transfer", "approved"): "transfer.approved",
    ("transfer", "rejected"): "transfer.rejected",
}
# Only from these states (a retried run goes failed -> running -> failed again: one more
# `run.failed`, which is a new fact; its key repeats, so a live job absorbs it).
_FROM: dict[str, frozenset[str]] = {
    "task": frozenset({TaskStatus.PENDING}),
    "run": frozenset({RunStatus.RUNNING}),
}


class Event(NamedTuple):
    # A tuple (not a dataclass): the unit of work makes several per operation, and its fields
    # go out as one JSON array each (see `job_statements`), in this order.
    name: str
    object_type: str
    object_id: int  # for `task.created`: the task's step run (see the module's docstring)
    status: str
    run_id: int | None = None
    subject_type: str = ""
    subject_id: int | None = None
    by_step_run: bool = False

    @property
    def key(self) -> str:
        kind = "step_run" if self.by_step_run else self.object_type
        return f"event:{self.name}:{kind}:{self.object_id}"

    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "event": self.name,
            "object_type": self.object_type,
            "status": self.status,
        }
        if self.by_step_run:
            payload["step_run_id"] = self.object_id
        else:
            payload["object_id"] = self.object_id
        if self.run_id is not None:
            payload["run_id"] = self.run_id
        if self.subject_type and self.subject_id is not None:
            payload["subject"] = {"type": self.subject_type, "id": self.subject_id}
        return payload


def from_move(object_type: str, object_id: int, from_status: str, to_status: str) -> Event | None:
    """The event a recorded state change means, if any."""
    name = _BY_MOVE.get((object_type, to_status))
    if name is None:
        return None
    allowed = _FROM.get(object_type)
    if allowed is not None and (from_status or "") not in allowed:
        return None
    object_id = int(object_id)
    if object_type == "task":
        return Event(name, object_type, object_id, to_status)
    if object_type == "run":
        return Event(name, object_type, object_id, to_status, object_id)
    return Event(name, object_type, object_id, to_status, None, object_type, object_id)


def task_created(task: HumanTask) -> Event:
    """`task.created` of a task about to be inserted (no pk yet): keyed by its step run."""
    return Event(
        "task.created",
        "task",
        int(task.step_run_id),
        TaskStatus.PENDING,
        task.run_id,
        task.subject_type,
        task.subject_id,
        True,  # by_step_run
    )


# One INSERT for an operation's events, their fields as one JSON parameter (an array per
# event, in `Event`'s order): a statement of over 50 parameters is parsed again by psycopg on
# every run, and PostgreSQL builds each job's payload and key (`Event.payload`, `Event.key`)
# cheaper than Python does. Due and created when the statement runs. The ON CONFLICT target is
# jobs' own; the kind is JOB_KIND.
_INSERT_MANY_SQL = (
    'INSERT INTO workflows_job (tenant_id, kind, payload, due_at, "key", status, attempts,'
    " locked_by, last_error, created_at) SELECT %s, 'engine.event', jsonb_strip_nulls("
    "jsonb_build_object('event', e->0, 'object_type', e->1, 'status', e->3,"
    " CASE WHEN (e->>7)::boolean THEN 'step_run_id' ELSE 'object_id' END, e->2,"
    " 'run_id', e->4, 'subject', CASE WHEN e->>5 <> '' AND e->>6 IS NOT NULL"
    " THEN jsonb_build_object('type', e->5, 'id', e->6) END)), statement_timestamp(),"
    " 'event:' || (e->>0) || ':' || CASE WHEN (e->>7)::boolean THEN 'step_run' ELSE e->>1 END"
    " || ':' || (e->>2), 'scheduled', 0, '', '', statement_timestamp()"
    " FROM jsonb_array_elements(%s::jsonb) AS x(e)"
    " ON CONFLICT (tenant_id, \"key\") WHERE status IN ('scheduled', 'running')"
    " AND \"key\" > '' DO NOTHING"
)


def job_statements(tenant_id: int, events: Collection[Event]) -> list[Statement]:
    """The events' jobs (distinct keys), as INSERTs that travel in a batch of the engine's
    statements: one on PostgreSQL however many events, one each elsewhere (SQLite)."""
    if not events:
        return []
    if not is_postgres():
        return [
            jobs.schedule_statement(
                tenant_id=tenant_id, kind=JOB_KIND, payload=e.payload(), key=e.key
            )
            for e in events
        ]
    return [(_INSERT_MANY_SQL, [int(tenant_id), to_json([tuple(e) for e in events])])]
