"""Reads for the reports (`/api/reports/...`): cycle times, overdue tasks, approvers.

Durations are seconds from a task's opening (`created_at`) to its decision (the task's
`decided_at`, or for approvers their own ballot's). Medians and the 90th percentile are
PostgreSQL's `percentile_cont` (linear interpolation between the two nearest values); on
SQLite, the embedded default, which has no such aggregate, the same figures are computed in
Python from the same rows (`percentile_cont` below), so both answer the same shape and values.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Q,
    QuerySet,
)
from django.utils import timezone

from core.db_router import read_connection
from tenants.models import Tenant
from workflows.models import BallotDecision, HumanTask, TaskBallot, TaskStatus

DECIDED = (TaskStatus.APPROVED, TaskStatus.REJECTED, TaskStatus.COMPLETED)


@dataclass(frozen=True)
class ReportFilters:
    """`from`/`to` are whole UTC days on the decision time, both included."""

    date_from: date | None = None
    date_to: date | None = None
    workflow_id: int | None = None

    def decided_range(self) -> tuple[datetime | None, datetime | None]:
        start = datetime.combine(self.date_from, time(), UTC) if self.date_from else None
        end = (
            datetime.combine(self.date_to + timedelta(days=1), time(), UTC)
            if self.date_to
            else None
        )
        return start, end


def percentile_cont(values: Sequence[float], fraction: float) -> float | None:
    """PostgreSQL's `percentile_cont` over `values` (any order); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _uses_percentile_cont() -> bool:
    return connection.vendor == "postgresql"


# --- cycle times ---------------------------------------------------------------------------

_CYCLE_SQL = """
SELECT r.workflow_id,
       GROUPING(s.position, s.name) AS workflow_total,
       s.position,
       s.name,
       max(coalesce(w.name, r.workflow_name)) AS workflow_name,
       count(*) AS decided,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.decided_at - t.created_at)),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM t.decided_at - t.created_at))
  FROM workflows_humantask t
  JOIN workflows_steprun s ON s.tenant_id = t.tenant_id AND s.id = t.step_run_id
  JOIN workflows_workflowrun r ON r.tenant_id = t.tenant_id AND r.id = t.run_id
  LEFT JOIN workflows_workflow w ON w.tenant_id = r.tenant_id AND w.id = r.workflow_id
 WHERE t.tenant_id = %s AND t.status IN ('approved', 'rejected', 'completed')
   AND t.decided_at IS NOT NULL {where}
 GROUP BY GROUPING SETS ((r.workflow_id), (r.workflow_id, s.position, s.name))
 ORDER BY r.workflow_id NULLS LAST, workflow_total DESC, s.position, s.name
"""


def _figures(count: int, median: float | None, p90: float | None) -> dict[str, Any]:
    return {"count": count, "median_seconds": median, "p90_seconds": p90}


def cycle_times(*, tenant: Tenant, filters: ReportFilters) -> list[dict[str, Any]]:
    """Per workflow (and within it per step: position and name), the count, median and 90th
    percentile of open-to-decision times of decided tasks. One statement on PostgreSQL."""
    if not _uses_percentile_cont():
        return _cycle_times_in_python(tenant=tenant, filters=filters)
    start, end = filters.decided_range()
    where, params = [], [tenant.pk]
    if start is not None:
        where.append("AND t.decided_at >= %s")
        params.append(start)
    if end is not None:
        where.append("AND t.decided_at < %s")
        params.append(end)
    if filters.workflow_id is not None:
        where.append("AND r.workflow_id = %s")
        params.append(filters.workflow_id)
    # Only fixed fragments are joined in; every value is a parameter.
    sql = _CYCLE_SQL.format(where=" ".join(where))
    workflows: list[dict[str, Any]] = []
    with read_connection(HumanTask).cursor() as cursor:  # the replica when the view uses it
        cursor.execute(sql, params)
        for workflow_id, total, position, name, wf_name, count, median, p90 in cursor.fetchall():
            if total:
                workflows.append(
                    {
                        "workflow": workflow_id,
                        "workflow_name": wf_name,
                        **_figures(count, median, p90),
                        "steps": [],
                    }
                )
            else:
                workflows[-1]["steps"].append(
                    {"position": position, "name": name, **_figures(count, median, p90)}
                )
    return workflows


def _decided_tasks(*, tenant: Tenant, filters: ReportFilters) -> QuerySet[HumanTask]:
    start, end = filters.decided_range()
    tasks = HumanTask.objects.for_tenant(tenant).filter(
        status__in=DECIDED, decided_at__isnull=False
    )
    if start is not None:
        tasks = tasks.filter(decided_at__gte=start)
    if end is not None:
        tasks = tasks.filter(decided_at__lt=end)
    if filters.workflow_id is not None:
        tasks = tasks.filter(run__workflow_id=filters.workflow_id)
    return tasks


def _cycle_times_in_python(*, tenant: Tenant, filters: ReportFilters) -> list[dict[str, Any]]:
    """The same figures without `percentile_cont` (SQLite): one query, grouped here."""
    rows = _decided_tasks(tenant=tenant, filters=filters).values_list(
        "run__workflow_id",
        "run__workflow__name",
        "run__workflow_name",
        "step_run__position",
        "step_run__name",
        "created_at",
        "decided_at",
    )
    names: dict[int | None, str] = {}
    by_workflow: dict[int | None, list[float]] = defaultdict(list)
    by_step: dict[tuple[int | None, int, str], list[float]] = defaultdict(list)
    for workflow_id, current, pinned, position, name, opened, decided in rows:
        seconds = (decided - opened).total_seconds()
        names[workflow_id] = max(names.get(workflow_id, ""), current or pinned)
        by_workflow[workflow_id].append(seconds)
        by_step[(workflow_id, position, name)].append(seconds)

    def order(key: int | None) -> tuple[bool, int]:
        return (key is None, key or 0)

    out = []
    for workflow_id in sorted(by_workflow, key=order):
        values = by_workflow[workflow_id]
        steps = sorted(k for k in by_step if k[0] == workflow_id)
        out.append(
            {
                "workflow": workflow_id,
                "workflow_name": names[workflow_id],
                **_figures(len(values), percentile_cont(values, 0.5), percentile_cont(values, 0.9)),
                "steps": [
                    {
                        "position": position,
                        "name": name,
                        **_figures(
                            len(by_step[key]),
                            percentile_cont(by_step[key], 0.5),
                            percentile_cont(by_step[key], 0.9),
                        ),
                    }
                    for key in steps
                    for _, position, name in [key]
                ],
            }
        )
    return out


# --- overdue tasks -------------------------------------------------------------------------


def overdue_tasks(
    *, tenant: Tenant, workflow_id: int | None = None, now: datetime | None = None
) -> QuerySet[HumanTask]:
    """Pending tasks past their `due_at`, the longest overdue first."""
    tasks = (
        HumanTask.objects.for_tenant(tenant)
        .filter(status=TaskStatus.PENDING, due_at__lt=now or timezone.now())
        .select_related("step_run", "run")
        .order_by("due_at", "id")
    )
    if workflow_id is not None:
        tasks = tasks.filter(run__workflow_id=workflow_id)
    return tasks


# --- approvers -----------------------------------------------------------------------------


class _PercentileCont(Aggregate):
    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float) -> None:
        # A float literal, never client input.
        super().__init__(expression, fraction=repr(float(fraction)))


class _EpochSeconds(Func):
    template = "extract(epoch FROM %(expressions)s)"
    output_field = FloatField()


def _decided_ballots(*, tenant: Tenant, filters: ReportFilters) -> QuerySet[TaskBallot]:
    start, end = filters.decided_range()
    ballots = TaskBallot.objects.for_tenant(tenant).filter(decision__isnull=False)
    if start is not None:
        ballots = ballots.filter(decided_at__gte=start)
    if end is not None:
        ballots = ballots.filter(decided_at__lt=end)
    if filters.workflow_id is not None:
        ballots = ballots.filter(task__run__workflow_id=filters.workflow_id)
    return ballots


def _counts() -> dict[str, Any]:
    return {
        "decisions": Count("id"),
        "approved": Count("id", filter=Q(decision=BallotDecision.APPROVE)),
        "rejected": Count("id", filter=Q(decision=BallotDecision.REJECT)),
        "completed": Count("id", filter=Q(decision=BallotDecision.COMPLETE)),
    }


def approvers(*, tenant: Tenant, filters: ReportFilters) -> QuerySet[Any] | list[dict[str, Any]]:
    """Per person who decided: decisions by kind and the median seconds from a task's opening
    to their ballot. Most decisions first. A queryset on PostgreSQL (the page and its count
    are two statements), a list on SQLite."""
    ballots = _decided_ballots(tenant=tenant, filters=filters)
    if not _uses_percentile_cont():
        return _approvers_in_python(ballots)
    response = ExpressionWrapper(F("decided_at") - F("task__created_at"), DurationField())
    return (
        ballots.values("user_id", "user__email", "user__full_name")
        .annotate(**_counts(), median_seconds=_PercentileCont(_EpochSeconds(response), 0.5))
        .order_by("-decisions", "user_id")
    )


def _approvers_in_python(ballots: QuerySet[TaskBallot]) -> list[dict[str, Any]]:
    rows = ballots.values_list(
        "user_id", "user__email", "user__full_name", "decision", "decided_at", "task__created_at"
    )
    people: dict[int, dict[str, Any]] = {}
    seconds: dict[int, list[float]] = defaultdict(list)
    kinds = {
        BallotDecision.APPROVE: "approved",
        BallotDecision.REJECT: "rejected",
        BallotDecision.COMPLETE: "completed",
    }
    for user_id, email, full_name, decision, decided_at, opened in rows:
        person = people.setdefault(
            user_id,
            {
                "user_id": user_id,
                "user__email": email,
                "user__full_name": full_name,
                "decisions": 0,
                "approved": 0,
                "rejected": 0,
                "completed": 0,
            },
        )
        person["decisions"] += 1
        person[kinds[decision]] += 1
        seconds[user_id].append((decided_at - opened).total_seconds())
    for user_id, person in people.items():
        person["median_seconds"] = percentile_cont(seconds[user_id], 0.5)
    return sorted(people.values(), key=lambda p: (-p["decisions"], p["user_id"]))
