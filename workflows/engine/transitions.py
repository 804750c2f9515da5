"""The record and the writes of one engine operation, sent to the database in few statements.

`record` collects state changes for the transition log. `write` (and `defer`, for a statement
built elsewhere) holds a write back so that it travels with the operation's next statement
(`execute`, or the engine functions that take `pending=log.absorb()`) or with `flush`, which
the service calls once, last, inside its transaction. Statements that travel together run on
one snapshot, so one of them must not write a row another writes (see `store.batch`): `write`
sends what is held first when its row is already held, and so does `claim` for a row that the
next statement writes itself. Code that reads with the ORM while writes are held calls `sync`.
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
        self._rows: set[tuple[str, Any]] = set()  # (table, pk) written by `pending`

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
        """Hold statements that write rows nothing else in this operation writes."""
        self.pending.extend(statements)

    def write(self, obj: Any, fields: list[str]) -> None:
        """Hold an UPDATE of `fields` of `obj`'s row (see `store.update`)."""
        self.claim(obj)
        self._rows.add((obj._meta.db_table, obj.pk))
        self.pending.append(store.update(obj, fields))

    def claim(self, obj: Any) -> None:
        """The next write of `obj`'s row must not travel with a held write of it: send those."""
        if (obj._meta.db_table, obj.pk) in self._rows:
            self.sync()

    def absorb(self) -> list[store.Statement]:
        """Hand the deferred writes to a statement that sends them first."""
        pending, self.pending = self.pending, []
        self._rows.clear()
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
