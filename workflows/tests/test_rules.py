"""Approval rules on the engine (PostgreSQL): percent, reject_rule, and a rule of one's own."""

from __future__ import annotations

from fractions import Fraction

import pytest

from accounts.models import Role
from workflows import services
from workflows.engine import ApprovalRule, Need, register_rule
from workflows.engine import rules as rule_registry
from workflows.models import HumanTask, RunStatus, StepRun, StepRunStatus, TaskStatus
from workflows.tests.engine_helpers import approval_workflow, open_task, start

pytestmark = pytest.mark.django_db


def decide(tenant, task, user, decision="approve"):
    return services.task_decide(
        tenant=tenant, task_id=task.pk, decision=decision, actor=user, comment=""
    )


def named(users, **config):
    return {"approvers": {"users": [u.pk for u in users]}, **config}


def status(task):
    task.refresh_from_db()
    return task.status


@pytest.mark.parametrize(
    ("eligible", "percent", "required"),
    [(5, 60, 3), (3, 60, 2), (10, 60, 6), (4, 1, 1), (7, 100, 7), (3, 34, 2), (3, 33, 1)],
)
def test_percent_needs_that_share_of_the_eligible_rounded_up(
    tenant, make_user, eligible, percent, required
):
    users = [make_user(Role.AGENT) for _ in range(eligible)]
    run = start(tenant, approval_workflow(tenant, named(users, rule="percent", percent=percent)))
    task = open_task(run)
    assert (task.rule, task.eligible_count, task.required_approvals) == (
        "percent",
        eligible,
        required,
    )
    for user in users[: required - 1]:
        decide(tenant, task, user)
        assert status(task) == TaskStatus.PENDING
    decide(tenant, task, users[required - 1])
    assert status(task) == TaskStatus.APPROVED
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED


def test_percent_rejects_once_the_share_is_out_of_reach(tenant, make_user):
    users = [make_user(Role.AGENT) for _ in range(5)]  # 60 %: 3 of 5
    run = start(tenant, approval_workflow(tenant, named(users, rule="percent", percent=60)))
    task = open_task(run)
    decide(tenant, task, users[0], "reject")
    decide(tenant, task, users[1], "reject")
    assert status(task) == TaskStatus.PENDING  # 3 approvals still possible
    decide(tenant, task, users[2], "reject")
    assert status(task) == TaskStatus.REJECTED
    run.refresh_from_db()
    assert run.status == RunStatus.REJECTED


def test_percent_with_the_submitter_left_out_counts_only_the_eligible(tenant, make_user):
    submitter = make_user(Role.AGENT)
    others = [make_user(Role.AGENT) for _ in range(4)]
    workflow = approval_workflow(tenant, named([submitter, *others], rule="percent", percent=50))
    task = open_task(start(tenant, workflow, submitted_by=submitter))
    assert (task.eligible_count, task.required_approvals) == (4, 2)


def test_reject_rule_first_rejects_a_quorum_at_once(tenant, make_user):
    users = [make_user(Role.AGENT) for _ in range(3)]
    config = named(users, rule="quorum", quorum=2, reject_rule="first")
    task = open_task(start(tenant, approval_workflow(tenant, config)))
    decide(tenant, task, users[0], "reject")
    assert status(task) == TaskStatus.REJECTED


def test_reject_rule_n_rejections_keep_an_any_task_open(tenant, make_user):
    users = [make_user(Role.AGENT) for _ in range(4)]
    run = start(tenant, approval_workflow(tenant, named(users, reject_rule=2)))
    task = open_task(run)
    decide(tenant, task, users[0], "reject")
    assert status(task) == TaskStatus.PENDING
    decide(tenant, task, users[1], "reject")
    assert status(task) == TaskStatus.REJECTED
    run.refresh_from_db()
    assert run.status == RunStatus.REJECTED


def test_reject_rule_n_then_an_approval_settles_an_any_task(tenant, make_user):
    users = [make_user(Role.AGENT) for _ in range(4)]
    task = open_task(start(tenant, approval_workflow(tenant, named(users, reject_rule=3))))
    decide(tenant, task, users[0], "reject")
    decide(tenant, task, users[1], "reject")
    decide(tenant, task, users[2])
    assert status(task) == TaskStatus.APPROVED
    assert (task.approvals_count, task.rejections_count) == (1, 2)


def test_reject_rule_beyond_the_voters_still_rejects_when_approval_is_out_of_reach(
    tenant, make_user
):
    users = [make_user(Role.AGENT) for _ in range(2)]
    task = open_task(start(tenant, approval_workflow(tenant, named(users, reject_rule=5))))
    decide(tenant, task, users[0], "reject")
    assert status(task) == TaskStatus.PENDING
    decide(tenant, task, users[1], "reject")
    assert status(task) == TaskStatus.REJECTED  # nobody left to approve


def test_defaults_are_todays_behaviour():
    # any and all: the first rejection; quorum and percent: once approval is out of reach.
    for key, expected in {"any": 1, "all": 1, "quorum": None, "percent": None}.items():
        rule = rule_registry.get_rule(key)
        assert rule_registry.reject_after(rule, {}) == expected
        assert rule_registry.reject_after(rule, {"reject_rule": "first"}) == 1
        assert rule_registry.reject_after(rule, {"reject_rule": 4}) == 4


def test_need_rounds_up_exactly():
    assert Need(share=Fraction(60, 100)).of(5) == 3  # 5 * 0.6 is 3.0000000000000004 in floats
    assert Need(at_least=1, share=Fraction(1, 3)).of(0) == 1
    assert Need(share=Fraction(1)).of(0) == 0


class TwoThirds(ApprovalRule):
    key = "two_thirds_test"

    def need(self, value):
        return Need(at_least=1, share=Fraction(2, 3))


def test_a_new_rule_is_one_class_and_a_registration(tenant, make_user):
    register_rule(TwoThirds())
    try:
        users = [make_user(Role.AGENT) for _ in range(4)]
        task = open_task(start(tenant, approval_workflow(tenant, named(users, rule=TwoThirds.key))))
        assert task.required_approvals == 3
        for user in users[:2]:
            decide(tenant, task, user)
        assert status(task) == TaskStatus.PENDING
        decide(tenant, task, users[2])
        assert status(task) == TaskStatus.APPROVED
    finally:
        rule_registry._rules.pop(TwoThirds.key)


def test_percent_of_too_few_eligible_fails_the_run(tenant, make_user):
    run = start(
        tenant,
        approval_workflow(
            tenant, {"approvers": {"role": "SUPERVISOR"}, "rule": "percent", "percent": 50}
        ),
    )
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED  # no SUPERVISOR at all
    step = StepRun.objects.get(run=run)
    assert step.status == StepRunStatus.FAILED
    assert "Not enough eligible approvers: 0 for 1 needed." in step.last_error
    assert HumanTask.objects.get(run=run).status == TaskStatus.CANCELLED
