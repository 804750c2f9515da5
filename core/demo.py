"""The demo data behind `seed_demo`, built through the services like any other client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from accounts.models import Role, User
from accounts.services import user_create
from tenants.models import Tenant
from workflows import services as workflow_services
from workflows.models import Workflow

DEMO_SLUG = "demo"
DEMO_PASSWORD = "Demo-Pass-2026!"
DEMO_USERS = [
    ("admin@demo.example", Role.ADMIN, "Ada Admin"),
    ("agent@demo.example", Role.AGENT, "Alex Agent"),
    ("viewer@demo.example", Role.VIEWER, "Vic Viewer"),
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
    return {"tenant": tenant, "users": users, "workflows": [intake]}
