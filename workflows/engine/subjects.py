"""Subject types: what a run runs on (a transfer, a case). Apps register theirs in ready().

When a run reaches a final status the engine asks its subject type what that means for the
subject (`on_run_finished`, a pure function of the run) and writes the answer itself, in the
same transaction and with the run's own statements: start the chain's next run, cancel the
runs that have not started, set the subject's status. A subject type never writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models

from workflows.models import WorkflowRun


@dataclass(frozen=True, slots=True)
class SubjectOutcome:
    """What a finished run means for its subject; the engine carries it out."""

    # The subject's new status ("": unchanged), written on the subject type's `model` only
    # while the subject is still in `expected`, with `values` (other columns, by field name).
    status: str = ""
    expected: str = ""
    values: Mapping[str, Any] = field(default_factory=dict)
    start_next: bool = False  # start the chain's next run (same subject, next sequence)
    cancel_not_started: bool = False  # cancel the chain's runs that have not started


# (run, actor_id, now) -> what should happen to the subject, None for nothing.
OnRunFinished = Callable[[WorkflowRun, int | None, datetime], SubjectOutcome | None]


@dataclass(frozen=True)
class SubjectType:
    key: str
    on_run_finished: OnRunFinished | None = None
    # Where an outcome's status goes (required when `on_run_finished` may set one).
    model: type[models.Model] | None = None
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
