"""The engine's state machine: runs, step runs, human tasks.

Everything here runs inside the caller's transaction (services open it, durable at the
boundary) and appends to a TransitionLog that the caller flushes once.

Lock order: a human task before its run's subject (transfer, case); several rows in pk order.
A task is locked for every decision, and a run only advances under the lock of its one open
task, so two completions of one run cannot both start the next step or the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import F
from django.utils import timezone

from accounts.models import Role
from core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from workflows.engine.approvers import eligible_users
from workflows.engine.registry import registry
from workflows.engine.subjects import get_subject
from workflows.engine.transitions import TransitionLog
from workflows.models import (
    BallotDecision,
    HumanTask,
    RunStatus,
    Step,
    StepRun,
    StepRunStatus,
    TaskBallot,
    TaskStatus,
    Workflow,
    WorkflowRun,
)

logger = logging.getLogger("workflows.engine")

FORM_TASK_ROLES = (Role.ADMIN, Role.SUPERVISOR, Role.AGENT)
RUN_FINAL = {RunStatus.COMPLETED, RunStatus.REJECTED, RunStatus.FAILED, RunStatus.CANCELLED}


# --- creating runs -------------------------------------------------------------------------


def runs_create(
    *,
    tenant_id: int,
    subject_type: str,
    subject_id: int,
    workflows: Sequence[Workflow],
    submitted_by: Any | None,
    first_sequence: int = 1,
) -> list[WorkflowRun]:
    """Runs for `workflows` in order (sequence 1..n), each with a snapshot of its steps.

    Three queries however many workflows and steps: the steps, the runs, the step runs.
    """
    steps_by_workflow: dict[int, list[Step]] = {w.pk: [] for w in workflows}
    for step in (
        Step.objects.for_tenant(tenant_id)
        .filter(workflow_id__in=list(steps_by_workflow))
        .order_by("workflow_id", "order", "id")
    ):
        steps_by_workflow[step.workflow_id].append(step)
    runs = WorkflowRun.objects.bulk_create(
        [
            WorkflowRun(
                tenant_id=tenant_id,
                workflow=workflow,
                workflow_name=workflow.name,
                workflow_code=workflow.code,
                subject_type=subject_type,
                subject_id=subject_id,
                sequence=first_sequence + index - 1,
                chain_length=first_sequence + len(workflows) - 1,
                step_count=len(steps_by_workflow[workflow.pk]),
                submitted_by=submitted_by,
            )
            for index, workflow in enumerate(workflows, start=1)
        ]
    )
    step_runs = StepRun.objects.bulk_create(
        [
            StepRun(
                tenant_id=tenant_id,
                run=run,
                position=position,
                order=step.order,
                name=step.name,
                action=step.action,
                config=step.config,
            )
            for run in runs
            for position, step in enumerate(steps_by_workflow[run.workflow_id])
        ]
    )
    by_run: dict[int, list[StepRun]] = {}
    for step_run in step_runs:
        by_run.setdefault(step_run.run_id, []).append(step_run)
    for run in runs:
        run._prefetched_step_runs = by_run.get(run.pk, [])  # type: ignore[attr-defined]
    return runs


def run_start(
    run: WorkflowRun, *, actor: Any | None, log: TransitionLog, first_step: StepRun | None = None
) -> None:
    """not_started -> running, and the first step opens (or the run completes if empty).

    `first_step` saves a query when the caller already has the run's position-0 step run."""
    if run.status != RunStatus.NOT_STARTED:
        raise Conflict(f"Run {run.pk} cannot start from status '{run.status}'.")
    now = timezone.now()
    run.status, run.started_at = RunStatus.RUNNING, now
    run.save(update_fields=["status", "started_at"])
    log.record("run", run.pk, RunStatus.NOT_STARTED, RunStatus.RUNNING)
    if run.step_count == 0:
        _finish_run(run, RunStatus.COMPLETED, actor=actor, log=log)
        return
    if first_step is None:
        prefetched = getattr(run, "_prefetched_step_runs", None)
        first_step = prefetched[0] if prefetched else StepRun.objects.get(run=run, position=0)
    activate_step(first_step, run, actor=actor, log=log)


# --- steps ---------------------------------------------------------------------------------


def activate_step(
    step_run: StepRun, run: WorkflowRun, *, actor: Any | None, log: TransitionLog
) -> None:
    spec = registry.get(step_run.action)
    now = timezone.now()
    if spec is None:
        fail_step(step_run, run, f"Unknown action '{step_run.action}'.", actor=actor, log=log)
        return
    if spec.is_human:
        step_run.status, step_run.started_at = StepRunStatus.WAITING, now
        step_run.attempts += 1
        step_run.save(update_fields=["status", "started_at", "attempts"])
        log.record("step_run", step_run.pk, StepRunStatus.PENDING, StepRunStatus.WAITING)
        _open_task(step_run, run, log=log, actor=actor)
    else:
        from workflows.engine import automation

        step_run.status, step_run.started_at = StepRunStatus.RUNNING, now
        step_run.save(update_fields=["status", "started_at"])
        log.record("step_run", step_run.pk, StepRunStatus.PENDING, StepRunStatus.RUNNING)
        automation.dispatch(step_run)


def _open_task(step_run: StepRun, run: WorkflowRun, *, log: TransitionLog, actor: Any) -> None:
    config = step_run.config or {}
    is_approval = step_run.action == "approval"
    task = HumanTask(
        tenant_id=run.tenant_id,
        step_run=step_run,
        run=run,
        subject_type=run.subject_type,
        subject_id=run.subject_id,
        name=step_run.name,
        action=step_run.action,
        submitted_by_id=run.submitted_by_id,
    )
    if config.get("due_in_hours"):
        task.due_at = timezone.now() + timedelta(hours=int(config["due_in_hours"]))
    if not is_approval:
        task.open_to_roles = "," + ",".join(FORM_TASK_ROLES) + ","
        task.save()
        log.record("task", task.pk, "", TaskStatus.PENDING)
        return
    task.rule = config.get("rule", "any")
    task.allow_self_approval = bool(config.get("allow_self_approval", False))
    task.save()
    log.record("task", task.pk, "", TaskStatus.PENDING)
    users = eligible_users(run.tenant_id, config.get("approvers") or {})
    eligible = 0 if users is None else _insert_ballots(task, users)
    required = {"any": 1, "all": eligible, "quorum": int(config.get("quorum") or 1)}[task.rule]
    if eligible == 0 or required > eligible:
        _cancel_task(task, log=log)
        fail_step(
            step_run,
            run,
            f"Not enough eligible approvers: {eligible} for {required} needed.",
            actor=actor,
            log=log,
        )
        return
    if task.rule != "any":  # "any" needs no counts: the first decision is final
        task.eligible_count, task.required_approvals = eligible, required
        task.save(update_fields=["eligible_count", "required_approvals"])


def _insert_ballots(task: HumanTask, users: Any) -> int:
    """One INSERT ... SELECT: a ballot per eligible user (the submitter excluded unless allowed)."""
    if not task.allow_self_approval and task.submitted_by_id:
        users = users.exclude(pk=task.submitted_by_id)
    ids = users.order_by().annotate(eligible_user_id=F("pk")).values("eligible_user_id")
    select_sql, params = ids.query.sql_with_params()
    table = connection.ops.quote_name(TaskBallot._meta.db_table)
    # Only identifiers Django generated are interpolated; every value is a parameter.
    sql = (
        f"INSERT INTO {table} (tenant_id, task_id, user_id, comment, data) "  # noqa: S608
        f"SELECT %s, %s, eligible.eligible_user_id, '', %s FROM ({select_sql}) AS eligible"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [task.tenant_id, task.pk, "{}", *params])
        return max(cursor.rowcount, 0)


def _cancel_task(task: HumanTask, *, log: TransitionLog) -> None:
    task.status = TaskStatus.CANCELLED
    task.save(update_fields=["status"])
    log.record("task", task.pk, TaskStatus.PENDING, TaskStatus.CANCELLED)


def fail_step(
    step_run: StepRun, run: WorkflowRun, error: str, *, actor: Any, log: TransitionLog
) -> None:
    previous = step_run.status
    step_run.status, step_run.last_error = StepRunStatus.FAILED, error
    step_run.finished_at = timezone.now()
    step_run.save(update_fields=["status", "last_error", "finished_at"])
    log.record("step_run", step_run.pk, previous, StepRunStatus.FAILED, comment=error)
    logger.warning("run %s step %s failed: %s", run.pk, step_run.pk, error)
    _finish_run(run, RunStatus.FAILED, actor=actor, log=log)


def step_finished(
    step_run: StepRun,
    run: WorkflowRun,
    status: str,
    *,
    actor: Any,
    log: TransitionLog,
    result: dict[str, Any] | None = None,
) -> None:
    """A step reached `status` (completed / rejected / failed): move the run on."""
    previous = step_run.status
    step_run.status, step_run.finished_at = status, timezone.now()
    fields = ["status", "finished_at"]
    if result is not None:
        step_run.result = result
        fields.append("result")
    step_run.save(update_fields=fields)
    log.record("step_run", step_run.pk, previous, status)
    if status == StepRunStatus.COMPLETED:
        if step_run.position + 1 < run.step_count:
            next_step = StepRun.objects.get(run=run, position=step_run.position + 1)
            activate_step(next_step, run, actor=actor, log=log)
        else:
            _finish_run(run, RunStatus.COMPLETED, actor=actor, log=log)
    elif status == StepRunStatus.REJECTED:
        _finish_run(run, RunStatus.REJECTED, actor=actor, log=log)
    else:
        _finish_run(run, RunStatus.FAILED, actor=actor, log=log)


def _finish_run(run: WorkflowRun, status: str, *, actor: Any, log: TransitionLog) -> None:
    previous = run.status
    run.status, run.finished_at = status, timezone.now()
    run.save(update_fields=["status", "finished_at"])
    log.record("run", run.pk, previous, status)
    subject = get_subject(run.subject_type)
    if subject and subject.on_run_finished:
        subject.on_run_finished(run=run, actor=actor, log=log)


# --- decisions -----------------------------------------------------------------------------


def task_lock(*, tenant_id: int, task_id: int) -> HumanTask:
    try:
        return (
            HumanTask.objects.for_tenant(tenant_id)
            .select_for_update(of=("self",))
            .select_related("step_run", "run")
            .get(pk=task_id)
        )
    except HumanTask.DoesNotExist as exc:
        raise NotFound("Not found.") from exc


def task_decide_locked(
    task: HumanTask,
    *,
    decision: str,
    comment: str,
    data: dict[str, Any],
    actor: Any,
    log: TransitionLog,
) -> HumanTask:
    """Apply one person's decision to a task already locked by `task_lock`."""
    if task.status != TaskStatus.PENDING:
        raise Conflict(f"This task is already {task.status}.", "already_decided")
    spec = registry.get(task.action)
    offered = spec.decisions if spec else ()
    if decision not in offered:
        verbs = " or ".join(offered) or "nothing"
        raise ValidationFailed(
            f"A '{task.action}' task takes {verbs}, not {decision}.", "wrong_decision"
        )
    now = timezone.now()
    if decision == BallotDecision.COMPLETE:
        outcome = _complete_form(task, spec, comment=comment, data=data, actor=actor, now=now)
    else:
        outcome = _vote(task, decision=decision, comment=comment, actor=actor, now=now)
    fields = ["approvals_count", "rejections_count"]
    if outcome is not None:
        task.status, task.decided_at, task.decided_by = outcome, now, actor
        fields += ["status", "decided_at", "decided_by"]
        if decision == BallotDecision.COMPLETE:
            task.result = data
            fields.append("result")
    task.save(update_fields=fields)
    if outcome is None:
        return task
    log.record("task", task.pk, TaskStatus.PENDING, outcome)
    step_status = (
        StepRunStatus.REJECTED if outcome == TaskStatus.REJECTED else StepRunStatus.COMPLETED
    )
    step_finished(
        task.step_run,
        task.run,
        step_status,
        actor=actor,
        log=log,
        result={"decision": outcome, **({"data": data} if data else {})},
    )
    return task


def _vote(task: HumanTask, *, decision: str, comment: str, actor: Any, now: Any) -> str | None:
    if (
        decision == BallotDecision.APPROVE
        and not task.allow_self_approval
        and task.submitted_by_id == actor.pk
    ):
        raise Forbidden("You cannot approve your own request.", "self_approval")
    updated = TaskBallot.objects.filter(task=task, user=actor, decision__isnull=True).update(
        decision=decision, comment=comment, decided_at=now
    )
    if updated == 0:
        if TaskBallot.objects.filter(task=task, user=actor).exists():
            raise Conflict("You have already decided this task.", "already_voted")
        raise Forbidden("You are not an eligible approver for this task.", "not_eligible")
    if decision == BallotDecision.APPROVE:
        task.approvals_count += 1
    else:
        task.rejections_count += 1
    if task.rule == "any":
        return TaskStatus.APPROVED if decision == BallotDecision.APPROVE else TaskStatus.REJECTED
    if task.approvals_count >= task.required_approvals:
        return TaskStatus.APPROVED
    if task.eligible_count - task.rejections_count < task.required_approvals:
        return TaskStatus.REJECTED
    return None


def _complete_form(
    task: HumanTask, spec: Any, *, comment: str, data: dict[str, Any], actor: Any, now: Any
) -> str:
    if f",{actor.role}," not in task.open_to_roles:
        raise Forbidden("Your role may not complete this task.", "not_eligible")
    if spec.form_serializer is not None:
        form = spec.form_serializer(data=data if isinstance(data, dict) else None)
        if not form.is_valid():
            raise ValidationFailed(
                "Invalid form data.", "invalid_form", field="data", extra={"errors": form.errors}
            )
        data = dict(form.validated_data)
    TaskBallot.objects.create(
        tenant_id=task.tenant_id,
        task=task,
        user=actor,
        decision=BallotDecision.COMPLETE,
        comment=comment,
        data=data,
        decided_at=now,
    )
    return TaskStatus.COMPLETED


# --- cancelling ----------------------------------------------------------------------------


def runs_cancel(runs: Iterable[WorkflowRun], *, actor: Any, log: TransitionLog) -> None:
    """Cancel running runs (their open tasks and steps too); not-started runs stay so."""
    for run in runs:
        if run.status != RunStatus.RUNNING:
            continue
        for task in (
            HumanTask.objects.select_for_update()
            .filter(run=run, status=TaskStatus.PENDING)
            .order_by("pk")
        ):
            _cancel_task(task, log=log)
        for step_run in StepRun.objects.filter(
            run=run, status__in=[StepRunStatus.WAITING, StepRunStatus.RUNNING]
        ):
            log.record("step_run", step_run.pk, step_run.status, StepRunStatus.CANCELLED)
            step_run.status, step_run.finished_at = StepRunStatus.CANCELLED, timezone.now()
            step_run.save(update_fields=["status", "finished_at"])
        previous = run.status
        run.status, run.finished_at = RunStatus.CANCELLED, timezone.now()
        run.save(update_fields=["status", "finished_at"])
        log.record("run", run.pk, previous, RunStatus.CANCELLED)
