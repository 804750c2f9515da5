"""Timers of human tasks (approvals and forms): a due time with what happens then
(`on_timeout`), reminders and an escalation, as durable jobs (`jobs`).

A step's config: `due_in_hours`, `remind_every_hours`, `escalate_after_hours` with
`escalate_to` (an approvers spec), `on_timeout` (reject, approve, escalate, fail) and
`business_hours` (count the tenant's default business calendar's working hours; a step saved
with it needs a default calendar, and if that calendar is gone when a task opens, wall-clock
hours are counted). Every timer needs `due_in_hours`. A form step has no escalation and times
out with `fail` only: it has no ballots to add nor a decision to take in anyone's place.

- The jobs are written by the operation that opens the task, held in its unit of work so they
  travel with its next statement (`jobs.schedule_statement`), under the keys
  `task:<id>:due`, `task:<id>:escalate` and `task:<id>:remind:<n>`. A task without timers
  costs nothing.
- The operation that closes a task with a due time cancels its scheduled jobs
  (`cancel_statement`, held likewise).
- A handler locks the task (the decisions' lock path) and does nothing unless it is still
  pending: a task decided a moment before its deadline fires nothing. Each firing writes a
  transition with a comment: the task's own move on a timeout, a `task_timer` row
  (pending -> reminded / escalated) otherwise.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from core.api.fields import IntegerField
from workflows.calendars import add_business_hours
from workflows.engine import ballots, inserts, jobs, rules, store
from workflows.engine.approvers import eligible_sql
from workflows.engine.sql import Statement, execute, qn
from workflows.engine.uow import UnitOfWork
from workflows.models import (
    BusinessCalendar,
    HumanTask,
    Job,
    StepRunStatus,
    TaskBallot,
    TaskStatus,
)

MAX_HOURS = 24 * 365
MAX_REMINDERS = 50  # a forgotten task is not reminded forever

TIMEOUT, REMIND, ESCALATE = "task.timeout", "task.remind", "task.escalate"
TIMED_OUT = "Timed out"


class OnTimeout(StrEnum):
    REJECT = "reject"
    APPROVE = "approve"
    ESCALATE = "escalate"
    FAIL = "fail"


# --- config ---------------------------------------------------------------------------------


ESCALATION_FIELDS = ("escalate_after_hours", "escalate_to")
FORM_TIMEOUT = "A form step times out with 'fail' only."


def hours_field() -> IntegerField:
    return IntegerField(min_value=1, max_value=MAX_HOURS, required=False)


def config_fields(*, escalation: bool = True) -> dict[str, serializers.Field]:
    """The timer fields of a step's config serializer (besides its `due_in_hours`). Without
    `escalation` (a form step): no `escalate_*`, and `on_timeout` is `fail` only."""
    from workflows.engine.actions import ApproversSerializer  # actions imports this module

    if not escalation:
        return {
            "remind_every_hours": hours_field(),
            "on_timeout": serializers.ChoiceField(
                choices=[OnTimeout.FAIL.value],
                required=False,
                error_messages={"invalid_choice": FORM_TIMEOUT},
            ),
            "business_hours": serializers.BooleanField(required=False),
        }
    return {
        "remind_every_hours": hours_field(),
        "escalate_after_hours": hours_field(),
        "escalate_to": ApproversSerializer(required=False),
        "on_timeout": serializers.ChoiceField(choices=[c.value for c in OnTimeout], required=False),
        "business_hours": serializers.BooleanField(required=False),
    }


def refuse_escalation(data: Any) -> None:
    """A form step's raw config naming an `escalate_*` key: a 400 saying why (before the
    strict serializer's "Unknown key")."""
    if isinstance(data, dict):
        for field in ESCALATION_FIELDS:
            if field in data:
                raise serializers.ValidationError({field: ["A form step does not escalate."]})


def check_config(serializer: serializers.Serializer, attrs: dict[str, Any]) -> None:
    """The rules between the timer fields; a 400 naming the field."""

    def fail(field: str, message: str) -> None:
        raise serializers.ValidationError({field: [message]})

    if not attrs.get("due_in_hours"):
        for field in ("remind_every_hours", "escalate_after_hours", "on_timeout"):
            if field in attrs:
                fail(field, "Requires due_in_hours.")
        if attrs.get("business_hours"):
            fail("business_hours", "Requires due_in_hours.")
    escalates = "escalate_after_hours" in attrs or attrs.get("on_timeout") == OnTimeout.ESCALATE
    if escalates and "escalate_to" not in attrs:
        fail("escalate_to", "Required with escalate_after_hours or on_timeout 'escalate'.")
    if "escalate_to" in attrs and not escalates:
        fail("escalate_to", "Only allowed with escalate_after_hours or on_timeout 'escalate'.")
    tenant = serializer.context.get("tenant")
    if (
        attrs.get("business_hours")
        and tenant is not None
        and not BusinessCalendar.objects.filter(tenant_id=tenant.pk, is_default=True).exists()
    ):
        fail("business_hours", "The tenant has no default business calendar.")


def has_timers(config: dict[str, Any]) -> bool:
    return bool(config.get("due_in_hours")) and any(
        config.get(k) for k in ("remind_every_hours", "escalate_after_hours", "on_timeout")
    )


# --- times ----------------------------------------------------------------------------------


class Clock:
    """Adds a step's hours: wall-clock, or the tenant's default calendar's working hours (read
    once, when first needed)."""

    def __init__(self, tenant_id: int, config: dict[str, Any]) -> None:
        self.tenant_id, self.business = tenant_id, bool(config.get("business_hours"))
        self._calendar: BusinessCalendar | None = None
        self._read = False

    def after(self, start: datetime, hours: int) -> datetime:
        if self.business and not self._read:
            self._calendar = BusinessCalendar.objects.filter(
                tenant_id=self.tenant_id, is_default=True
            ).first()
            self._read = True
        if self._calendar is None:
            return start + timedelta(hours=hours)
        return add_business_hours(start, hours, self._calendar)


def due_time(tenant_id: int, config: dict[str, Any], now: datetime) -> datetime | None:
    hours = config.get("due_in_hours")
    return Clock(tenant_id, config).after(now, int(hours)) if hours else None


# --- opening and closing --------------------------------------------------------------------


def _job(task: HumanTask, kind: str, key: str, due_at: datetime, **extra: Any) -> Statement:
    payload = {"task_id": task.pk, **extra}
    return jobs.schedule_statement(
        tenant_id=task.tenant_id, kind=kind, payload=payload, due_at=due_at, key=key
    )


def task_opened(task: HumanTask, config: dict[str, Any], *, log: UnitOfWork, now: Any) -> None:
    """Hold the jobs of a task just opened (its pk known) in `log`; nothing without timers."""
    if not has_timers(config) or task.due_at is None:
        return
    clock = Clock(task.tenant_id, config)
    prefix = f"task:{task.pk}:"
    if config.get("on_timeout"):
        log.defer(_job(task, TIMEOUT, prefix + "due", task.due_at))
    if config.get("escalate_after_hours"):
        at = clock.after(now, int(config["escalate_after_hours"]))
        log.defer(_job(task, ESCALATE, prefix + "escalate", at))
    if config.get("remind_every_hours"):
        at = clock.after(now, int(config["remind_every_hours"]))
        log.defer(_job(task, REMIND, prefix + "remind:1", at, n=1))


_CANCEL_SQL = (
    f"UPDATE {qn(Job._meta.db_table)} SET status = 'cancelled', finished_at = %s, "
    "locked_until = NULL WHERE tenant_id = %s AND status = 'scheduled' "
    'AND "key" LIKE %s AND id <> %s'
)


def cancel_statement(task: HumanTask, *, except_job: int = 0) -> Statement:
    """Cancel the task's timer jobs not yet claimed (but `except_job`). One that runs now
    waits for the task's lock, then finds it closed and does nothing: cancelling it would
    only undo that nothing, and the batch of jobs it runs in with the caller's."""
    return _CANCEL_SQL, [timezone.now(), task.tenant_id, f"task:{task.pk}:%", except_job]


def task_closed(task: HumanTask, *, log: UnitOfWork) -> None:
    """A task leaves pending: hold the cancel of its timers (only a task with a due time can
    have any)."""
    if task.due_at is not None:
        log.defer(cancel_statement(task))


# --- firing ---------------------------------------------------------------------------------


def _locked(job: Job) -> store.Locked | None:
    locked = store.lock_task(job.tenant_id, task_id=int(job.payload["task_id"]), voter_id=None)
    if locked is None or locked.task.status != TaskStatus.PENDING:
        return None
    return locked


def _remind(job: Job) -> None:
    locked = _locked(job)
    if locked is None:
        return
    from workflows.engine.human import awaited_by  # human imports this module
    from workflows.notifications import notify  # it imports the engine

    task, n = locked.task, int(job.payload.get("n", 1))
    holders = awaited_by(task)
    notify("task_due_soon", task.pk, holders, task.tenant_id, occurrence=f"remind:{n}")
    whom = "person(s) of its roles" if task.open_to_roles else "open ballot(s)"
    log = UnitOfWork(task.tenant_id, None, f"Reminder {n}: {len(holders)} {whom}")
    log.record("task_timer", task.pk, TaskStatus.PENDING, "reminded")
    config = locked.step_run.config or {}
    every = config.get("remind_every_hours")
    if every and n < MAX_REMINDERS:
        at = Clock(task.tenant_id, config).after(job.due_at, int(every))
        log.defer(_job(task, REMIND, f"task:{task.pk}:remind:{n + 1}", at, n=n + 1))
    log.flush()


def _add_ballots(task: HumanTask, approvers: dict[str, Any], fresh: bool) -> list[int]:
    """Ballots for `approvers` who have none: the submitter excluded unless allowed and, if
    `fresh` (the step excludes previous deciders), whoever decided a task of the subject."""
    users = eligible_sql(task.tenant_id, approvers)
    if users is None:
        return []
    sql, params = users
    exclude = None if task.allow_self_approval else task.submitted_by_id
    chosen = [*params, exclude, exclude]
    if fresh:
        chosen += [task.tenant_id, task.subject_type, task.subject_id, None, None]
    rows, _ = execute(
        f"INSERT INTO {qn(TaskBallot._meta.db_table)} (tenant_id, task_id, user_id, comment, "
        f"data) SELECT %s, %s, uid, '', '{{}}' FROM ({inserts.chosen_sql(sql, fresh)}) AS e "
        "ON CONFLICT (tenant_id, task_id, user_id) DO NOTHING RETURNING user_id",
        [task.tenant_id, task.pk, *chosen],
    )
    return [row[0] for row in rows]


def _escalate_locked(locked: store.Locked, comment: str) -> None:
    from workflows.notifications import notify  # it imports the engine

    task, config = locked.task, locked.step_run.config or {}
    fresh = bool(config.get(store.EXCLUDE_PREVIOUS_DECIDERS, False))
    added = _add_ballots(task, config.get("escalate_to") or {}, fresh)
    log = UnitOfWork(task.tenant_id, None, f"{comment}: {len(added)} more approver(s)")
    if added:
        task.eligible_count += len(added)
        task.required_approvals = rules.need_for(config)[1].of(task.eligible_count)
        log.write(task, ["eligible_count", "required_approvals"])
        notify("task_escalated", task.pk, added, task.tenant_id, occurrence="escalate")
    log.record("task_timer", task.pk, TaskStatus.PENDING, "escalated")
    log.flush()


def _escalate(job: Job) -> None:
    locked = _locked(job)
    if locked is not None:
        _escalate_locked(locked, "Escalated")


def _timeout(job: Job) -> None:
    from workflows.engine.runner import fail_step, step_finished  # runner imports human

    locked = _locked(job)
    if locked is None:
        return
    task, step_run, run = locked.task, locked.step_run, locked.run
    action = (step_run.config or {}).get("on_timeout")
    if action == OnTimeout.ESCALATE:
        _escalate_locked(locked, TIMED_OUT + ", escalated")
        return
    log = UnitOfWork(task.tenant_id, None, TIMED_OUT)
    log.defer(cancel_statement(task, except_job=job.pk))
    log.defer(ballots.close_ballots(task))
    now = timezone.now()
    if action == OnTimeout.FAIL:
        task.status = TaskStatus.CANCELLED
        log.write(task, ["status"])
        log.record("task", task.pk, TaskStatus.PENDING, TaskStatus.CANCELLED)
        fail_step(step_run, run, TIMED_OUT, actor=None, log=log)
    else:
        outcome = TaskStatus.APPROVED if action == OnTimeout.APPROVE else TaskStatus.REJECTED
        task.status, task.decided_at, task.decided_by = outcome, now, None
        log.write(task, ["status", "decided_at", "decided_by"])
        log.record("task", task.pk, TaskStatus.PENDING, outcome)
        approved = outcome == TaskStatus.APPROVED
        status = StepRunStatus.COMPLETED if approved else StepRunStatus.REJECTED
        step_finished(
            step_run,
            run,
            status,
            actor=None,
            log=log,
            result={"decision": outcome, "timed_out": True},
            ahead=locked,
        )
    log.flush()


jobs.register_job(TIMEOUT, _timeout)
jobs.register_job(REMIND, _remind)
jobs.register_job(ESCALATE, _escalate)
