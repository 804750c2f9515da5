"""Collects the state changes of one operation and writes them in a single INSERT."""

from __future__ import annotations

from typing import Any

from workflows.models import StateTransition


class TransitionLog:
    def __init__(self, tenant_id: int, actor: Any | None, comment: str = "") -> None:
        self.tenant_id = tenant_id
        self.actor_id = getattr(actor, "pk", None)
        self.comment = comment
        self.rows: list[StateTransition] = []

    def record(
        self,
        object_type: str,
        object_id: int,
        from_status: str,
        to_status: str,
        comment: str | None = None,
    ) -> None:
        self.rows.append(
            StateTransition(
                tenant_id=self.tenant_id,
                object_type=object_type,
                object_id=object_id,
                from_status=from_status or "",
                to_status=to_status,
                actor_id=self.actor_id,
                comment=self.comment if comment is None else comment,
            )
        )

    def flush(self) -> None:
        if self.rows:
            StateTransition.objects.bulk_create(self.rows)
            self.rows = []
