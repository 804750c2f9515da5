"""The `form` step kind (e.g. `check_safety`): one person of an allowed role completes the
task with the action's form."""

from __future__ import annotations

from typing import Any

from accounts.models import Role
from core.errors import Forbidden, ValidationFailed
from workflows.engine import human, timers
from workflows.engine.kinds import StepKind, register_step_kind
from workflows.engine.registry import ActionSpec
from workflows.engine.store import Locked
from workflows.engine.uow import UnitOfWork
from workflows.models import BallotDecision, StepRun, TaskBallot, TaskStatus, WorkflowRun

FORM_TASK_ROLES = (Role.ADMIN, Role.SUPERVISOR, Role.AGENT)


class FormKind(StepKind):
    key, human = "form", True

    def activate(
        self, step_run: StepRun, run: WorkflowRun, *, actor: Any, log: UnitOfWork, now: Any
    ) -> None:
        written = human.wait(step_run, log=log, now=now)
        task = human.new_task(step_run, run, now)
        task.open_to_roles = "," + ",".join(FORM_TASK_ROLES) + ","
        human.open_task(task, written, None, None, log=log)
        timers.task_opened(task, step_run.config or {}, log=log, now=now)

    def decide(
        self,
        locked: Locked,
        spec: ActionSpec,
        *,
        decision: str,
        comment: str,
        data: dict[str, Any],
        actor: Any,
        log: UnitOfWork,
        now: Any,
    ) -> str | None:
        task = locked.task
        if f",{actor.role}," not in task.open_to_roles:
            raise Forbidden("Your role may not complete this task.", "not_eligible")
        if spec.form_serializer is not None:
            form = spec.form_serializer(data=data if isinstance(data, dict) else None)
            if not form.is_valid():
                raise ValidationFailed(
                    "Invalid form data.",
                    "invalid_form",
                    field="data",
                    extra={"errors": form.errors},
                )
            data = dict(form.validated_data)
        with log.orm():
            TaskBallot.objects.create(
                tenant_id=task.tenant_id,
                task=task,
                user=actor,
                decision=BallotDecision.COMPLETE,
                comment=comment,
                data=data,
                decided_at=now,
            )
        task.result = data
        fields = human.decided(task, TaskStatus.COMPLETED, actor=actor, now=now)
        log.write(task, [*fields, "result"])
        return TaskStatus.COMPLETED


FORM = register_step_kind(FormKind())
