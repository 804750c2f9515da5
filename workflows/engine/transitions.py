"""The record and the writes of one engine operation, sent to the database in few statements.

`record` collects state changes for the transition log. `defer` holds a write back so that it
travels with the operation's next statement (`execute`, or the engine functions that take
`pending=log.absorb()`) or with `flush`, which the service calls once, last, inside its
transaction. Deferred writes must be plain UPDATE/INSERT statements on rows that the
statements they travel with do not touch (see `store.batch`); code that reads with the ORM
while writes are deferred calls `sync` first.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from workflows.engine import store


class TransitionLog:
    def __init__(self, tenant_id: int, actor: Any | None, comment: str = "") -> None:
        self.tenant_id = tenant_id
        self.actor_id = getattr(actor, "pk", None)
        self.comment = comment
        # (object_type, object_id, from_status, to_status, comment)
        self.rows: list[tuple[str, int, str, str, str]] = []
        self.pending: list[store.Statement] = []

    def record(
        self,
        object_type: str,
        object_id: int,
        from_status: str,
        to_status: str,
        comment: str | None = None,
    ) -> None:
        self.rows.append(
            (
                object_type,
                object_id,
                from_status or "",
                to_status,
                self.comment if comment is None else comment,
            )
        )

    def defer(self, *statements: store.Statement) -> None:
        self.pending.extend(statements)

    def absorb(self) -> list[store.Statement]:
        """Hand the deferred writes to a statement that sends them first."""
        pending, self.pending = self.pending, []
        return pending

    def execute(self, statement: store.Statement) -> tuple[list[tuple], int]:
        """Run `statement` after the deferred writes, in one round trip."""
        return store.batch([*self.absorb(), statement])

    def sync(self) -> None:
        """Write what is deferred now (before reading or writing through the ORM)."""
        if self.pending:
            store.batch(self.absorb())

    def take_rows(self) -> list[tuple]:
        """Hand the recorded transitions, as `store.transitions_statement` rows, to a
        statement that writes them."""
        now = timezone.now()
        rows = [
            (self.tenant_id, kind, pk, old, new, self.actor_id, comment, now)
            for kind, pk, old, new, comment in self.rows
        ]
        self.rows = []
        return rows

    def recorded_by(self) -> tuple[int | None, str, Any]:
        """(actor_id, comment, now) for a transition that a statement records itself."""
        return self.actor_id, self.comment, timezone.now()

    def flush(self) -> None:
        """Write everything left: deferred writes and the transition log, in one statement."""
        statements = self.absorb()
        if self.rows:
            statements.append(store.transitions_statement(self.take_rows()))
        if statements:
            store.batch(statements)
