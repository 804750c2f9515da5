"""`create_user --group` and `seed_demo` with the approvals data: idempotent, tenant-correct."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Role, User
from approvals.models import SecurityGroup, SecurityGroupMember, WorkflowAssignment
from approvals.services import assignment_reorder, group_add_member_by_name
from core.errors import ValidationFailed
from tests.factories import SecurityGroupFactory
from workflows.models import Step, Workflow

pytestmark = pytest.mark.django_db


def create_user(tenant, email, *groups):
    out = StringIO()
    args = ["--tenant", tenant.slug, "--email", email, "--password", "Long-Enough-Pass-9"]
    args += ["--role", "AGENT"]
    for group in groups:
        args += ["--group", group]
    call_command("create_user", *args, stdout=out)
    return User.objects.get(pk=int(out.getvalue().strip()))


def test_create_user_with_groups_creates_missing_ones_and_reuses_existing(tenant, other_tenant):
    existing = SecurityGroupFactory(tenant=tenant, name="Finance Team")
    SecurityGroupFactory(tenant=other_tenant, name="Auditors")
    user = create_user(tenant, "new@example.test", "Finance Team", "Auditors")
    groups = SecurityGroup.objects.filter(members=user).order_by("name")
    assert [(g.name, g.tenant_id) for g in groups] == [
        ("Auditors", tenant.id),
        ("Finance Team", tenant.id),
    ]
    assert existing in groups
    assert set(
        SecurityGroupMember.objects.filter(user=user).values_list("tenant_id", flat=True)
    ) == {tenant.id}
    assert (
        SecurityGroup.objects.filter(tenant=other_tenant, name="Auditors").get().members.count()
        == 0
    )


def test_group_add_member_by_name_is_idempotent_and_refuses_other_tenants_users(
    tenant, other_tenant, make_user
):
    member = make_user()
    first = group_add_member_by_name(tenant=tenant, group_name="Finance Team", user=member)
    again = group_add_member_by_name(tenant=tenant, group_name="Finance Team", user=member)
    assert first.pk == again.pk
    assert SecurityGroupMember.objects.filter(security_group=first, user=member).count() == 1
    outsider = make_user(tenant=other_tenant)
    with pytest.raises(ValidationFailed):
        group_add_member_by_name(tenant=tenant, group_name="Finance Team", user=outsider)


def test_create_user_with_a_blank_group_fails_and_creates_no_user(tenant):
    with pytest.raises(CommandError):
        create_user(tenant, "blank@example.test", "  ")
    assert not User.objects.filter(email="blank@example.test").exists()


def demo_snapshot():
    return {
        "users": sorted(User.objects.values_list("email", "role")),
        "groups": sorted(SecurityGroup.objects.values_list("name", flat=True)),
        "members": sorted(
            SecurityGroupMember.objects.values_list("security_group__name", "user__email")
        ),
        "workflows": sorted(Workflow.objects.values_list("code", "name", "transfer_type")),
        "steps": sorted(Step.objects.values_list("workflow__code", "action", "config")),
        "assignments": sorted(
            WorkflowAssignment.objects.values_list(
                "security_group__name", "workflow_template__code", "execution_order", "is_active"
            )
        ),
    }


def test_seed_demo_adds_finance_team_and_is_idempotent():
    call_command("seed_demo", stdout=StringIO())
    first = demo_snapshot()
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert demo_snapshot() == first
    assert "approver1@demo.example" in out.getvalue()
    finance = SecurityGroup.objects.get(name="Finance Team")
    assert finance.tenant.slug == "demo"
    assert sorted(finance.members.values_list("email", "role")) == [
        ("agent@demo.example", Role.AGENT),
        ("approver1@demo.example", Role.SUPERVISOR),
        ("approver2@demo.example", Role.SUPERVISOR),
    ]
    assert first["assignments"] == [
        ("Finance Team", "FAR_WF_REVIEW", 2, True),
        ("Finance Team", "FAR_WF_V1", 1, True),
    ]
    for code, name, extra in (
        ("FAR_WF_V1", "FAR Approval Workflow", {}),
        ("FAR_WF_REVIEW", "Secondary Review Workflow", {"exclude_previous_deciders": True}),
    ):
        workflow = Workflow.objects.get(code=code)
        assert (workflow.name, workflow.transfer_type, workflow.tenant_id) == (
            name,
            "FAR",
            finance.tenant_id,
        )
        assert list(workflow.steps.values_list("action", "config")) == [
            (
                "approval",
                {
                    "approvers": {"security_group": finance.id},
                    "rule": "any",
                    "allow_self_approval": False,
                    **extra,
                },
            )
        ]


def test_seed_demo_again_after_an_admin_reordered_the_chain():
    call_command("seed_demo", stdout=StringIO())
    finance = SecurityGroup.objects.get(name="Finance Team")
    far, review = (
        WorkflowAssignment.objects.get(workflow_template__code=code)
        for code in ("FAR_WF_V1", "FAR_WF_REVIEW")
    )
    assignment_reorder(
        tenant=finance.tenant,
        security_group_id=finance.id,
        assignment_orders=[
            {"assignment_id": far.id, "execution_order": 2},
            {"assignment_id": review.id, "execution_order": 1},
        ],
        actor=User.objects.get(email="admin@demo.example"),
    )
    call_command("seed_demo", stdout=StringIO())
    assert sorted(
        finance.assignments.values_list("workflow_template__code", "execution_order")
    ) == [
        ("FAR_WF_REVIEW", 1),
        ("FAR_WF_V1", 2),
    ]
