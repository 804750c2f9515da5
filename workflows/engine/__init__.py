"""The engine's public API: the one door through which the apps (approvals, cases, a host
project's own) use it. Its modules are its own business; `make lint` (import-linter) fails
when approvals or cases import one of them.

Runs, inside the caller's transaction and unit of work:
    start_runs, start_next_run, lock_runs, cancel_runs, retry_run
Decisions on human tasks (approve / reject a vote, complete a form):
    lock_task, lock_subject_task (both give a `Locked`), decide
Who a pending task is for (on a `Locked` task): claim_task, release_task, reassign_task
Steps the engine runs (automated):
    complete_step, fail_step
A subject whose chain has no running run, ended by a service:
    apply_outcome (a `SubjectOutcome`)
Extension seams (see README "Extending the engine"):
    register_action, register_step_kind, register_rule, register_subject,
    register_approver_resolver
The unit of work: `UnitOfWork` (held writes, the transition log; `with uow.orm():`).
SQL toolkit for an app's own hand-written reads: execute, cached, qn, new, instance, columns,
converted.
"""

from __future__ import annotations

# The built-in step kinds and the percent rule register themselves when imported.
from workflows.engine import kind_automated, kind_form, kind_vote, rule_percent  # noqa: F401
from workflows.engine.approvers import (
    DEFAULT_APPROVERS,
    eligible_users,
    register_approver_resolver,
    with_default_approvers,
)
from workflows.engine.assignment import claim as claim_task
from workflows.engine.assignment import reassign as reassign_task
from workflows.engine.assignment import release as release_task
from workflows.engine.cancelling import runs_cancel as cancel_runs
from workflows.engine.cancelling import runs_lock as lock_runs
from workflows.engine.decisions import subject_task_lock as lock_subject_task
from workflows.engine.decisions import task_decide_locked as decide
from workflows.engine.decisions import task_lock as lock_task
from workflows.engine.kinds import StepKind, register_step_kind
from workflows.engine.registry import (
    ActionKind,
    ActionSpec,
    EmptyConfigSerializer,
    StrictSerializer,
    register_action,
    registry,
)
from workflows.engine.rows import columns, converted, instance, new
from workflows.engine.rules import ApprovalRule, Need, register_rule
from workflows.engine.runner import apply_outcome, fail_step, retry_run
from workflows.engine.runner import run_start_next as start_next_run
from workflows.engine.runner import runs_create as start_runs
from workflows.engine.runner import step_finished as complete_step
from workflows.engine.sql import Statement, cached, execute, qn
from workflows.engine.store import Ballot, Locked, step_snapshot
from workflows.engine.subjects import (
    SubjectOutcome,
    SubjectType,
    describe_subjects,
    get_subject,
    register_subject,
)
from workflows.engine.uow import UnitOfWork

__all__ = [
    "DEFAULT_APPROVERS",
    "ActionKind",
    "ActionSpec",
    "ApprovalRule",
    "Ballot",
    "EmptyConfigSerializer",
    "Locked",
    "Need",
    "Statement",
    "StepKind",
    "StrictSerializer",
    "SubjectOutcome",
    "SubjectType",
    "UnitOfWork",
    "apply_outcome",
    "cached",
    "cancel_runs",
    "claim_task",
    "columns",
    "converted",
    "complete_step",
    "decide",
    "describe_subjects",
    "eligible_users",
    "execute",
    "fail_step",
    "get_subject",
    "instance",
    "lock_runs",
    "lock_subject_task",
    "lock_task",
    "new",
    "qn",
    "reassign_task",
    "register_action",
    "register_approver_resolver",
    "register_rule",
    "register_step_kind",
    "register_subject",
    "registry",
    "release_task",
    "retry_run",
    "start_next_run",
    "start_runs",
    "step_snapshot",
    "with_default_approvers",
]
