"""The `vote` step kind (the `approval` action): every eligible person gets a ballot, and a
rule (see `rules`) decides from the counts."""

from __future__ import annotations

from typing import Any

from core.errors import Conflict, Forbidden
from workflows.engine import human, rules, timers
from workflows.engine.approvers import eligible_sql
from workflows.engine.ballots import close_ballots, vote
from workflows.engine.kinds import StepKind, register_step_kind
from workflows.engine.registry import ActionSpec
from workflows.engine.runner import fail_step
from workflows.engine.store import EXCLUDE_PREVIOUS_DECIDERS, Ballot, Locked
from workflows.engine.uow import UnitOfWork
from workflows.models import BallotDecision, StepRun, TaskStatus, WorkflowRun


class VoteKind(StepKind):
    key, human = "vote", True

    def activate(
        self, step_run: StepRun, run: WorkflowRun, *, actor: Any, log: UnitOfWork, now: Any
    ) -> None:
        written = human.wait(step_run, log=log, now=now)
        task = human.new_task(step_run, run, now)
        config = step_run.config or {}
        rule, need = rules.need_for(config)
        task.rule = rule.key
        task.allow_self_approval = bool(config.get("allow_self_approval", False))
        # Ballots (one per eligible user, the submitter excluded unless allowed) go in with
        # the task, which counts them and works out the approvals required (`need`).
        users = eligible_sql(run.tenant_id, config.get("approvers") or {})
        # Separation of duties: who decided an earlier step of the subject's chain (any run)
        # gets no ballot, if the step says so.
        fresh = bool(config.get(EXCLUDE_PREVIOUS_DECIDERS, False))
        eligible = human.open_task(task, written, users, need, log=log, fresh=fresh)
        needed = need.of(eligible)
        if eligible == 0 or needed > eligible:
            human.cancel_task(task, log=log)
            fail_step(
                step_run,
                run,
                f"Not enough eligible approvers: {eligible} for {needed} needed.",
                actor=actor,
                log=log,
            )
        else:
            timers.task_opened(task, config, log=log, now=now)

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
        approve = decision == BallotDecision.APPROVE
        if approve and not task.allow_self_approval and task.submitted_by_id == actor.pk:
            raise Forbidden("You cannot approve your own request.", "self_approval")
        if locked.ballot is Ballot.DECIDED:
            raise Conflict("You have already decided this task.", "already_voted")
        if locked.previous_decider:  # e.g. eligible again by a ballot given another way
            raise Forbidden(
                "You decided an earlier step of this request; this step needs someone who did not.",
                "previous_decider",
            )
        if locked.ballot is not Ballot.OPEN:
            raise Forbidden("You are not an eligible approver for this task.", "not_eligible")
        if approve:
            task.approvals_count += 1
        else:
            task.rejections_count += 1
        rule = rules.get_rule(task.rule)
        outcome = rule.outcome(
            approvals=task.approvals_count,
            rejections=task.rejections_count,
            eligible=task.eligible_count,
            required=task.required_approvals,
            reject_after=rules.reject_after(rule, locked.step_run.config or {}),
        )
        fields = human.decided(task, outcome, actor=actor, now=now)
        holder, for_whom = locked.holder_id or actor.pk, locked.on_behalf_of
        log.defer(vote(task, holder, (decision, comment, now), acted_by=for_whom and actor.pk))
        if for_whom is not None:  # a delegate's decision: audited as such in the history
            log.on_behalf_of_id = for_whom
            note = f"On behalf of user {for_whom}" + (f": {comment}" if comment else "")
            log.record("task_delegate", task.pk, TaskStatus.PENDING, decision, comment=note)
        if outcome is not None:  # who never voted keeps no row (the inbox reads open work)
            log.defer(close_ballots(task, holder))
        log.write(task, fields)
        return outcome


VOTE = register_step_kind(VoteKind())
