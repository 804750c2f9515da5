"""The demo data behind `seed_demo`, built through the services like any other client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from accounts.models import Role, User
from accounts.services import user_create
from approvals import services as approval_services
from approvals.models import SecurityGroup, WorkflowAssignment
from cases import services as case_services
from cases.models import Case, CasePriority
from tenants.models import Tenant
from workflows import services as workflow_services
from workflows.models import Workflow

DEMO_SLUG = "demo"
DEMO_PASSWORD = "Demo-Pass-2026!"
DEMO_USERS = [
    ("admin@demo.example", Role.ADMIN, "Ada Admin"),
    ("agent@demo.example", Role.AGENT, "Alex Agent"),
    ("viewer@demo.example", Role.VIEWER, "Vic Viewer"),
    # Approvers are SUPERVISORs: they read everything and act on tasks (DESIGN §4).
    ("approver1@demo.example", Role.SUPERVISOR, "April Approver"),
    ("approver2@demo.example", Role.SUPERVISOR, "Abe Approver"),
]
APPROVER_EMAILS = ("approver1@demo.example", "approver2@demo.example")
DEMO_CASE_REFERENCE = "CASE-DEMO-1"
DEMO_CASE_TITLE = "Caller needs a safe place tonight"
FINANCE_GROUP = "Finance Team"
# (code, name, description, execution_order in Finance Team's chain, approval step config
# beyond its approvers). The review is separation of duties: whoever approved the first
# workflow may not approve it, so a FAR chain needs two different approvers.
APPROVAL_WORKFLOWS: list[tuple[str, str, str, int, dict[str, Any]]] = [
    ("FAR_WF_V1", "FAR Approval Workflow", "First approval of a FAR transfer.", 1, {}),
    (
        "FAR_WF_REVIEW",
        "Secondary Review Workflow",
        "Second look at a FAR transfer.",
        2,
        {"exclude_previous_deciders": True},
    ),
]
INTAKE_STEPS = [
    ("Verify Contact", "verify_contact", {}),
    ("Assess Risk", "check_safety", {}),
    (
        "Notify Supervisor",
        "send_email",
        {
            "to": {"role": "SUPERVISOR"},
            "subject": "New case {reference}",
            "body": "A case was opened: {title}",
        },
    ),
]


def _user(
    tenant: Tenant, email: str, role: str, full_name: str, log: Callable[[str], None]
) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = user_create(
            tenant=tenant, email=email, password=DEMO_PASSWORD, role=role, full_name=full_name
        )
        log(f"created user {email}")
    else:
        user.tenant, user.role, user.is_active = tenant, role, True
        user.set_password(DEMO_PASSWORD)
        user.save()
    return user


def _workflow(
    tenant: Tenant,
    actor: User,
    *,
    code: str,
    name: str,
    description: str,
    transfer_type: str,
    steps: list[tuple[str, str, dict[str, Any]]],
    log: Callable[[str], None],
) -> Workflow:
    workflow = Workflow.objects.for_tenant(tenant).filter(code=code).first()
    if workflow is not None:
        return workflow
    workflow = workflow_services.workflow_create(
        tenant=tenant,
        name=name,
        description=description,
        code=code,
        transfer_type=transfer_type,
        actor=actor,
    )
    for order, (step_name, action, config) in enumerate(steps):
        workflow_services.step_create(
            tenant=tenant,
            workflow=workflow,
            name=step_name,
            order=order,
            action=action,
            config=config,
            actor=actor,
        )
    log(f"created workflow {name}")
    return workflow


def _finance_group(
    tenant: Tenant, admin: User, approvers: list[User], log: Callable[[str], None]
) -> SecurityGroup:
    group = SecurityGroup.objects.for_tenant(tenant).filter(name=FINANCE_GROUP).first()
    if group is None:
        group = approval_services.group_create(
            tenant=tenant,
            name=FINANCE_GROUP,
            description="Approves finance (FAR) transfers.",
            actor=admin,
        )
        log(f"created security group {FINANCE_GROUP}")
    for approver in approvers:
        approval_services.group_add_member_by_name(
            tenant=tenant, group_name=FINANCE_GROUP, user=approver, actor=admin
        )
    return group


def _assign(
    tenant: Tenant,
    admin: User,
    group: SecurityGroup,
    workflow: Workflow,
    order: int,
    log: Callable[[str], None],
) -> None:
    """Assign unless already assigned; an order taken since (an admin reordered) goes last."""
    assigned = WorkflowAssignment.objects.for_tenant(tenant).filter(security_group=group)
    if assigned.filter(workflow_template=workflow).exists():
        return
    used = set(assigned.values_list("execution_order", flat=True))
    if order in used:
        order = max(used) + 1
    approval_services.assignment_create(
        tenant=tenant,
        security_group_id=group.pk,
        workflow_template_id=workflow.pk,
        execution_order=order,
        actor=admin,
    )
    log(f"assigned {workflow.code} to {group.name} as #{order}")


def _demo_case(tenant: Tenant, agent: User, intake: Workflow, log: Callable[[str], None]) -> Case:
    """Opened once, with "Survivor Intake" started on it; left alone when it exists."""
    case = Case.objects.for_tenant(tenant).filter(reference=DEMO_CASE_REFERENCE).first()
    if case is not None:
        return case
    case = case_services.case_create_in_transaction(
        tenant=tenant,
        reference=DEMO_CASE_REFERENCE,
        title=DEMO_CASE_TITLE,
        description="Caller is safe for the moment but cannot go home tonight.",
        priority=CasePriority.HIGH,
        assignee_id=agent.pk,
        data={"channel": "phone"},
        actor=agent,
    )
    case_services.case_start_run_in_transaction(
        tenant=tenant, case_id=case.pk, workflow_id=intake.pk, actor=agent
    )
    log(f"opened case {DEMO_CASE_REFERENCE} with {intake.name} running")
    return case


def seed_demo(log: Callable[[str], None] = lambda _msg: None) -> dict[str, Any]:
    tenant, created = Tenant.objects.get_or_create(
        slug=DEMO_SLUG, defaults={"name": "Demo Helpline"}
    )
    if created:
        log(f"created tenant {tenant.name}")
    users = [_user(tenant, email, role, name, log) for email, role, name in DEMO_USERS]
    admin = users[0]
    intake = _workflow(
        tenant,
        admin,
        code="SURVIVOR_INTAKE",
        name="Survivor Intake",
        description="Intake for a call: verify contact, assess risk, notify a supervisor.",
        transfer_type="",
        steps=INTAKE_STEPS,
        log=log,
    )
    approvers = [user for user in users if user.email in APPROVER_EMAILS]
    # The agent files the group's transfers (only members and ADMINs may); never approves
    # their own (allow_self_approval is off).
    agent_user = next(user for user in users if user.role == Role.AGENT)
    finance = _finance_group(tenant, admin, [*approvers, agent_user], log)
    approval_workflows = []
    # Two approvers besides the agent who files: the review needs someone other than the first.
    for code, name, description, order, extra in APPROVAL_WORKFLOWS:
        workflow = _workflow(
            tenant,
            admin,
            code=code,
            name=name,
            description=description,
            transfer_type="FAR",
            steps=[
                (
                    "Approve transfer",
                    "approval",
                    {"approvers": {"security_group": finance.pk}, **extra},
                )
            ],
            log=log,
        )
        _assign(tenant, admin, finance, workflow, order, log)
        approval_workflows.append(workflow)
    agent = next(user for user in users if user.role == Role.AGENT)
    case = _demo_case(tenant, agent, intake, log)
    return {
        "tenant": tenant,
        "users": users,
        "workflows": [intake, *approval_workflows],
        "security_groups": [finance],
        "cases": [case],
    }
