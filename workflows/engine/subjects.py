"""Subject types: what a run runs on (a transfer, a case). Apps register theirs in ready().

The engine calls `on_run_finished` in the same transaction that finishes a run, so a chain's
next run starts atomically with the previous one's completion.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class SubjectType:
    key: str
    # (run, actor, log) -> None; called when a run reaches a final state.
    on_run_finished: Callable[..., None] | None = None
    # True if on_run_finished writes only through the engine (runner, store, the log): the
    # finishing run's writes may then travel with its statements. Otherwise they are written
    # before the hook runs, so that it may use the ORM.
    batched: bool = False
    # (tenant_id, ids) -> {id: summary dict}; one query for many, for inbox items.
    describe: Callable[[int, Iterable[int]], dict[int, dict[str, Any]]] | None = None


_subjects: dict[str, SubjectType] = {}


def register_subject(subject: SubjectType) -> None:
    _subjects[subject.key] = subject


def get_subject(key: str) -> SubjectType | None:
    return _subjects.get(key)


def describe_subjects(
    tenant_id: int, refs: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], dict]:
    """Summaries for (type, id) pairs: one query per subject type present."""
    by_type: dict[str, set[int]] = {}
    for subject_type, subject_id in refs:
        by_type.setdefault(subject_type, set()).add(subject_id)
    out: dict[tuple[str, int], dict] = {}
    for subject_type, ids in by_type.items():
        subject = _subjects.get(subject_type)
        found = subject.describe(tenant_id, ids) if subject and subject.describe else {}
        for subject_id in ids:
            out[(subject_type, subject_id)] = {
                "type": subject_type,
                "id": subject_id,
                **found.get(subject_id, {}),
            }
    return out
