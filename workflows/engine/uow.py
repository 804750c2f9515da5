"""The unit of work of one engine operation: its writes and its transition log, sent in few
statements.

`record` collects state changes for the transition log. `write` (and `defer`, for a statement
built elsewhere) holds a write back so that it travels with the operation's next statement
(`execute`, or the store functions that take `pending=uow.absorb()`) or with `flush`, which
the service calls once, last, inside its transaction. Statements that travel together run on
one snapshot, so one of them must not write a row another writes (see `sql.batch`): `write`
sends what is held first when its row is already held, and so does `claim` for a row that the
next statement writes itself.

The ORM does not see held writes, so code that reads or writes through it does so in a block:

    with uow.orm():
        StepRun.objects.filter(...)

which sends what is held before the block, and sends every write made inside it at once, so
that the ORM always sees what the operation has done so far.

Events (`events`): a recorded move that means one (`task.decided`, `run.completed`, ...), and
a task about to open (`opened`), hold its job's INSERT, which travels with the operation's
next statement like a held write: no round trip of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from django.db import models, transaction

from workflows import metrics
from workflows.engine import events, sql, statuses
from workflows.engine.rows import update
from workflows.engine.sql import Rows, Statement, batch
from workflows.engine.store import transitions_statement
from workflows.models import RunStatus

# (object_type, object_id, from_status, to_status, comment)
Transition = tuple[str, int, str, str, str]
# (tenant_id, object_type, object_id, from, to, actor_id, comment, created_at): a log row
LogRow = tuple[int, str, int, str, str, int | None, str, Any]


class UnitOfWork:
    def __init__(self, tenant_id: int, actor: Any | None, comment: str = "") -> None:
        self.tenant_id = tenant_id
        self.actor_id: int | None = getattr(actor, "pk", None)
        self.comment = comment
        self.rows: list[Transition] = []
        self.pending: list[Statement] = []
        self._rows: set[tuple[str, Any]] = set()  # (table, pk) written by `pending`
        self._orm = 0  # depth of `orm()` blocks: nothing is held inside one
        # Who decided a task in this operation: their ballot and the task's decided_by may
        # still be held, unseen by the statement that opens the next task (separation of
        # duties asks it: see `inserts.open_task`).
        self.decider_id: int | None = None
        self.on_behalf_of_id: int | None = None  # the ballot's holder, if a delegate decided
        # Events whose jobs are not written yet, one per job key (as a tuple: cheaper than
        # `Event.key`) and operation.
        self._events: dict[tuple[str, str, int, bool], events.Event] = {}
        self._runs_moved: dict[str, int] = {}  # to_status -> runs (see `_count_run`)

    def record(
        self,
        object_type: str,
        object_id: int,
        from_status: str,
        to_status: str,
        comment: str | None = None,
    ) -> None:
        """A state change for the transition log; a move the engine does not declare for
        `object_type` (see `statuses`) raises before anything is written."""
        statuses.check(object_type, from_status, to_status)
        self.rows.append(
            (
                object_type,
                object_id,
                from_status or "",
                to_status,
                self.comment if comment is None else comment,
            )
        )
        event = events.from_move(object_type, object_id, from_status, to_status)
        if event is not None:
            self._event(event)
        elif object_type == "run" and (
            to_status == RunStatus.CANCELLED or from_status == RunStatus.NOT_STARTED
        ):
            self._count_run(to_status)  # started or cancelled: counted, no event

    def _count_run(self, to_status: str) -> None:
        """Runs started and cancelled are counters only (README "Metrics"), moved once the
        operation commits: one callback per operation, none if it rolls back."""
        if not self._runs_moved:
            transaction.on_commit(partial(metrics.count_runs, self._runs_moved))
        self._runs_moved[to_status] = self._runs_moved.get(to_status, 0) + 1

    def opened(self, task: Any) -> None:
        """`task` (not inserted yet) opens with the operation's next statement."""
        self._event(events.task_created(task))

    def _event(self, event: events.Event) -> None:
        self._events.setdefault(
            (event.name, event.object_type, event.object_id, event.by_step_run), event
        )

    def defer(self, *statements: Statement) -> None:
        """Hold statements that write rows nothing else in this operation writes."""
        self.pending.extend(statements)
        if self._orm:
            self._send()

    def write(self, obj: models.Model, fields: list[str]) -> None:
        """Hold an UPDATE of `fields` of `obj`'s row (see `rows.update`)."""
        self.claim(obj)
        self._rows.add((obj._meta.db_table, obj.pk))
        self.pending.append(update(obj, fields))
        if self._orm:
            self._send()

    def claim(self, obj: models.Model) -> None:
        """The next write of `obj`'s row must not travel with a held write of it: send those."""
        if (obj._meta.db_table, obj.pk) in self._rows:
            self._send()

    def absorb(self) -> list[Statement]:
        """Hand the held writes (and the events' jobs) to a statement that sends them first."""
        pending, self.pending = self.pending, []
        if self._events:
            pending += events.job_statements(self.tenant_id, self._events.values())
            self._events = {}
        self._rows.clear()
        return pending

    def execute(self, statement: Statement) -> tuple[Rows, int]:
        """Run `statement` after the held writes, in one round trip."""
        return batch([*self.absorb(), statement])

    @contextmanager
    def orm(self) -> Iterator[None]:
        """A block that uses the ORM: what is held is written before it, and what is written
        in it is sent at once."""
        self._send()
        self._orm += 1
        try:
            yield
        finally:
            self._orm -= 1

    def sync(self) -> None:
        """Write what is held now. Prefer `with uow.orm():` around the ORM code."""
        self._send()

    def _send(self) -> None:
        if self.pending:
            batch(self.absorb())

    def take_rows(self) -> list[LogRow]:
        """Hand the recorded transitions, as `store.transitions_statement` rows, to a
        statement that writes them."""
        now = sql.now()
        rows: list[LogRow] = [
            (self.tenant_id, kind, pk, old, new, self.actor_id, comment, now)
            for kind, pk, old, new, comment in self.rows
        ]
        self.rows = []
        return rows

    def recorded_by(self) -> tuple[int | None, str, Any]:
        """(actor_id, comment, now) for a transition that a statement records itself."""
        return self.actor_id, self.comment, sql.now()

    def flush(self) -> None:
        """Write everything left: held writes and the transition log, in one statement."""
        statements = self.absorb()
        if self.rows:
            statements.append(transitions_statement(self.take_rows()))
        if statements:
            batch(statements)
