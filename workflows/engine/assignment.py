"""Who a pending task is for, changed by people: claim and release (a group task taken by one
person, hidden from the others' inbox until given back) and reassignment by a SUPERVISOR or
ADMIN. Each works on a task locked like a decision (`store.lock_task`, with the actor as the
voter), so it serialises with the decisions on that task, and is recorded in the transition
log (`task_assignment`: claimed, released, reassigned) which the run's history shows.

- A vote can be claimed only when one decision settles it (its rule needs one approval and a
  rejection rejects): claiming a task that needs several people would stall it.
- Reassigning a vote moves one person's open ballot to someone else (the counts and the rule
  are unchanged); reassigning a form task makes it the new person's (a claim for them).
  Whoever receives it must be an active member of the tenant able to act, and not someone
  the step keeps away (the submitter, unless allowed; a previous decider, when the step
  excludes them). They are told by email (`task_reassigned`, a job after the commit).
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from accounts.models import Role, User
from core.errors import Conflict, Forbidden, ValidationFailed
from workflows.engine import ballots, jobs, rules
from workflows.engine.store import EXCLUDE_PREVIOUS_DECIDERS, Ballot, Locked
from workflows.engine.uow import UnitOfWork
from workflows.models import HumanTask, TaskStatus

NOTIFY_JOB = "task.notify"  # payload: kind, task_id, user_ids, occurrence (see event_handlers)
MANAGERS = (Role.ADMIN, Role.SUPERVISOR)


def _pending(task: HumanTask) -> None:
    if task.status != TaskStatus.PENDING:
        raise Conflict(f"This task is already {task.status}.", "already_decided")


def _may_act(locked: Locked, actor: Any) -> bool:
    task = locked.task
    if task.open_to_roles:
        return f",{actor.role}," in task.open_to_roles
    return locked.ballot is Ballot.OPEN


def claim(locked: Locked, *, actor: Any, log: UnitOfWork) -> HumanTask:
    """Take the task: it leaves the others' inbox, and only the claimer (or their delegate)
    decides it. Claiming one's own claim again changes nothing."""
    task = locked.task
    _pending(task)
    if task.claimed_by_id == actor.pk:
        return task
    if task.claimed_by_id is not None:
        raise Conflict("Someone else has claimed this task.", "claimed")
    if not _may_act(locked, actor):
        raise Forbidden("You are not eligible for this task.", "not_eligible")
    if not task.open_to_roles and not _settled_by_one(locked):
        raise Conflict(
            f"This task needs {task.required_approvals} approvals; claiming it would keep "
            "the other approvers from deciding.",
            "not_claimable",
        )
    task.claimed_by_id, task.claimed_at = actor.pk, timezone.now()
    log.write(task, ["claimed_by", "claimed_at"])
    log.record("task_assignment", task.pk, TaskStatus.PENDING, "claimed")
    return task


def _settled_by_one(locked: Locked) -> bool:
    task = locked.task
    rule = rules.get_rule(task.rule or "any")
    rejections = rules.reject_after(rule, locked.step_run.config or {})
    return task.required_approvals <= 1 and (rejections or 1) <= 1


def release(locked: Locked, *, actor: Any, log: UnitOfWork) -> HumanTask:
    """Give a claimed task back to the group: the claimer, their delegate, or a SUPERVISOR or
    ADMIN. Releasing a task nobody claimed changes nothing."""
    task = locked.task
    _pending(task)
    if task.claimed_by_id is None:
        return task
    mine = task.claimed_by_id in (actor.pk, locked.holder_id)
    if not mine and actor.role not in MANAGERS:
        raise Forbidden("Only who claimed this task, a SUPERVISOR or an ADMIN may release it.")
    claimer = task.claimed_by_id
    task.claimed_by_id, task.claimed_at = None, None
    log.write(task, ["claimed_by", "claimed_at"])
    note = f"Claimed by user {claimer}" + (f": {log.comment}" if log.comment else "")
    log.record("task_assignment", task.pk, TaskStatus.PENDING, "released", comment=note)
    return task


def reassign(
    locked: Locked, *, to_user_id: int, from_user_id: int | None, actor: Any, log: UnitOfWork
) -> HumanTask:
    """Move the task (a vote: one person's open ballot; a form: the task itself) to another
    person; `log.comment` is the reason. See the module's docstring for the rules."""
    task = locked.task
    if actor.role not in MANAGERS:
        raise Forbidden("Only a SUPERVISOR or ADMIN may reassign a task.")
    _pending(task)
    to_user = _receiver(task, to_user_id)
    if task.open_to_roles:
        if f",{to_user.role}," not in task.open_to_roles:
            raise ValidationFailed(
                "This person's role may not complete this task.", field="to_user"
            )
        moved_from = task.claimed_by_id
    else:
        moved_from = _move_ballot(task, locked, to_user.pk, from_user_id, log=log)
    if task.open_to_roles or task.claimed_by_id is not None:
        task.claimed_by_id, task.claimed_at = to_user.pk, timezone.now()
        log.write(task, ["claimed_by", "claimed_at"])
    whom = f"user {moved_from}" if moved_from is not None else "the group"
    note = f"From {whom} to user {to_user.pk}: {log.comment}"
    log.record("task_assignment", task.pk, TaskStatus.PENDING, "reassigned", comment=note)
    log.defer(
        jobs.schedule_statement(
            tenant_id=task.tenant_id,
            kind=NOTIFY_JOB,
            payload={
                "kind": "task_reassigned",
                "task_id": task.pk,
                "user_ids": [to_user.pk],
                "occurrence": f"reassign:{timezone.now().isoformat()}",
            },
        )
    )
    return task


def _receiver(task: HumanTask, user_id: int) -> User:
    user = User.objects.filter(tenant_id=task.tenant_id, pk=user_id, is_active=True).first()
    if user is None:
        raise ValidationFailed("No active user of this tenant has this id.", field="to_user")
    if user.role == Role.VIEWER:
        raise ValidationFailed("A VIEWER cannot act on tasks.", field="to_user")
    if not task.allow_self_approval and user.pk == task.submitted_by_id and not task.open_to_roles:
        raise ValidationFailed(
            "This person submitted the request and may not approve it.",
            "self_approval",
            field="to_user",
        )
    return user


def _move_ballot(
    task: HumanTask, locked: Locked, to_id: int, from_id: int | None, *, log: UnitOfWork
) -> int:
    holders = ballots.ballot_holders(task)
    open_holders = sorted(user_id for user_id, open_ in holders.items() if open_)
    if from_id is None:
        if len(open_holders) != 1:
            raise ValidationFailed(
                f"Required: {len(open_holders)} people hold an open ballot on this task; "
                "say whose to move.",
                field="from_user",
            )
        from_id = open_holders[0]
    elif from_id not in open_holders:
        raise ValidationFailed("This person holds no open ballot on this task.", field="from_user")
    if task.claimed_by_id not in (None, from_id):  # someone else's claim stays theirs
        raise Conflict("Someone else has claimed this task; release it first.", "claimed")
    if to_id in holders:
        raise ValidationFailed("This person already holds a ballot on this task.", field="to_user")
    if (locked.step_run.config or {}).get(EXCLUDE_PREVIOUS_DECIDERS) and ballots.decided_before(
        task, to_id
    ):
        raise ValidationFailed(
            "This person decided an earlier step of this request; this step needs someone "
            "who did not.",
            "previous_decider",
            field="to_user",
        )
    log.defer(ballots.move_ballot(task, from_id, to_id))
    return from_id
