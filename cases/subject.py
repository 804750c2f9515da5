"""How cases plug into the engine: the subject type "case", registered in `CasesConfig.ready()`.

A run on a case finishing changes nothing on the case: the case's own status is the people's
call (open, in progress, closed), not the engine's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cases.models import Case
from workflows.engine import SubjectType, register_subject

SUBJECT = "case"


def describe(tenant_id: int, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Inbox summaries of many cases in one query."""
    rows = (
        Case.objects.for_tenant(tenant_id)
        .filter(pk__in=list(ids))
        .values("pk", "reference", "title", "status", "priority")
    )
    return {
        row["pk"]: {
            "reference": row["reference"],
            "title": row["title"],
            "status": row["status"],
            "priority": row["priority"],
        }
        for row in rows
    }


def register() -> None:
    register_subject(SubjectType(key=SUBJECT, describe=describe))
