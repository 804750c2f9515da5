"""Collects the state changes of one operation and writes them in a single INSERT."""

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

    def flush(self) -> None:
        if self.rows:
            now = timezone.now()
            store.insert_transitions(
                [
                    (self.tenant_id, t, i, f, to, self.actor_id, c, now)
                    for t, i, f, to, c in self.rows
                ]
            )
            self.rows = []
