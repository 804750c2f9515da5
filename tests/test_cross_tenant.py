"""Tenant isolation, generated from the URL configuration (DESIGN.md §4, issue 6 item 2).

Every route under `/api/` is discovered from `config.urls` together with the HTTP methods its
view accepts. Each (route, method) is requested by tenant A's ADMIN and by an AGENT of tenant A,
aimed at tenant B's objects, and must:

- answer 404 with the module's body (the approvals envelope under `/api/approvals/`) when the
  path names a tenant-B object or tenant B itself (an AGENT may get the 403 of its role instead);
- answer exactly what the same request answers with ids that exist nowhere ("ghost" ids), so
  nothing about tenant B can be inferred;
- never show tenant B's data (every tenant-B name carries a marker the bodies must not contain);
- on collection routes (nothing of tenant B in the path), list only tenant A's rows and refuse
  tenant B's ids in the body or the query with a 400/404;
- leave every row of tenant B untouched (all models with a `tenant` field, and the tenant row).

A route with neither probes in `PROBES` nor an entry in `NOT_TENANT_DATA` / `PLATFORM_STAFF_ONLY`
fails the build, naming the route: a new endpoint cannot ship without a cross-tenant check.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.models import Delegation, Role
from approvals.services import transfers as transfer_services
from cases import services as case_services
from tenants.models import Tenant
from tests.factories import (
    CaseFactory,
    SecurityGroupFactory,
    SecurityGroupMemberFactory,
    StepFactory,
    TenantFactory,
    WorkflowAssignmentFactory,
    WorkflowFactory,
    WorkflowTemplateFactory,
)
from workflows.engine.approvers import eligible_users
from workflows.models import (
    BusinessCalendar,
    HumanTask,
    TaskStatus,
    WebhookDelivery,
    WebhookSubscription,
    WorkflowRun,
)

pytestmark = pytest.mark.django_db

HTTP_METHODS = ("get", "post", "put", "patch", "delete")

# Every name of tenant B's data contains this; no answer to tenant A may contain it.
MARKER = "zq-bravo"

# Routes that carry no tenant data, so there is nothing of tenant B to reach through them.
NOT_TENANT_DATA = {
    "schema": "the OpenAPI document: static, the same for everyone",
    "docs": "Swagger UI page: static HTML",
    "token-obtain": "login: takes credentials, answers tokens for the caller only",
    "token-refresh": "exchanges the caller's own refresh token",
    "logout": "blacklists the caller's own refresh token",
    "me": "the caller's own profile",
    "auth-csrf": "sets the caller's own CSRF cookie",
    "auth-session": "session sign-in with credentials, sign-out of the caller's own session",
    "action-list": "the action registry: code, identical for every tenant",
}

# Platform data, reachable by platform staff only: a tenant ADMIN must get 403.
PLATFORM_STAFF_ONLY = {"tenant-list", "tenant-detail"}


# ---------------------------------------------------------------------------------------------
# Route discovery


@dataclass(frozen=True)
class Route:
    name: str | None
    route: str
    methods: tuple[str, ...]


def _view_methods(callback: Any) -> tuple[str, ...]:
    actions = getattr(callback, "actions", None)
    if actions:  # a DRF ViewSet bound with as_view({...})
        return tuple(m for m in HTTP_METHODS if m in actions)
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is None:  # a plain function view: assume it answers every method
        return HTTP_METHODS
    return tuple(m for m in HTTP_METHODS if hasattr(view_class, m))


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[Route]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield Route(pattern.name, route, _view_methods(pattern.callback))


def api_routes() -> list[Route]:
    return [
        r for r in _walk(get_resolver("config.urls").url_patterns) if r.route.startswith("api/")
    ]


# ---------------------------------------------------------------------------------------------
# Probes: where each route points at tenant B


@dataclass(frozen=True)
class Probe:
    """One way of aiming a route at tenant B. Builders take the world (`w.a`, `w.b`)."""

    kwargs: Callable[[Any], dict[str, Any]]
    # The path names tenant A's own objects (or none): a collection route. The answer is judged
    # by its body instead of being a 404.
    own: bool = False
    methods: frozenset[str] | None = None  # None: every method the view accepts
    body: Callable[[Any], dict[str, Any]] | None = None  # None: `generic_body`
    query: Callable[[Any], dict[str, Any]] | None = None
    # A write here legitimately creates a row of tenant A (its body names nothing of tenant B).
    creates: bool = False


def generic_body(w: Any) -> dict[str, Any]:
    """Valid for most endpoints, pointing at tenant B wherever a body can hold an id."""
    return {
        "name": "zq-x",
        "title": "zq-x",
        "description": "x",
        "comment": "x",
        "workflow": w.b.workflow.pk,
        "security_group": w.b.group.pk,
        "workflow_template": w.b.template.pk,
        "execution_order": 7,
        "security_group_id": w.b.group.pk,
        "workflow_assignments": [{"workflow_template_id": w.b.template.pk, "execution_order": 1}],
        "assignment_orders": [{"assignment_id": w.b.assignment.pk, "execution_order": 2}],
        "user": w.b.viewer.pk,
        "assignee": w.b.submitter.pk,
        "order": 77,
        "action": "check_safety",
        "config": {},
        "data": {"risk_level": "low", "contact_verified": True},
        "transfer_type": "FAR",
        "reference": "ZQ-NEW-1",
        "amount": "1.00",
        "currency": "USD",
        "is_active": True,
    }


def _b_tenant(**extra: Callable[[Any], Any]) -> Callable[[Any], dict[str, Any]]:
    return lambda w: {"tenant_id": w.b.tenant.pk, **{k: f(w) for k, f in extra.items()}}


def _a_tenant(**extra: Callable[[Any], Any]) -> Callable[[Any], dict[str, Any]]:
    return lambda w: {"tenant_id": w.a.tenant.pk, **{k: f(w) for k, f in extra.items()}}


WRITES_WITH_BODY = frozenset({"put", "patch"})
READ_AND_CREATE = frozenset({"get", "post"})

PROBES: dict[str, dict[str, Probe]] = {
    # accounts
    "tenant-user-list": {
        "b-tenant": Probe(_b_tenant()),
        "own": Probe(
            _a_tenant(),
            own=True,
            creates=True,
            body=lambda w: {"email": "zq-new@a.test", "password": "Zq-Strong-Pass-2026!"},
        ),
    },
    "tenant-user-detail": {
        "b-tenant": Probe(_b_tenant(pk=lambda w: w.b.admin.pk)),
        "a-tenant": Probe(_a_tenant(pk=lambda w: w.b.admin.pk)),
    },
    # The caller's own delegation: tenant B's user as the delegate is refused like a missing
    # one. (DELETE ends only the caller's own delegation: nothing of tenant B to name.)
    "me-delegation": {
        "own": Probe(
            lambda w: {},
            own=True,
            methods=READ_AND_CREATE | {"put"},
            body=lambda w: {
                "delegate": w.b.approver.pk,
                "starts_at": "2031-01-01T00:00:00Z",
                "ends_at": "2031-01-08T00:00:00Z",
            },
        ),
    },
    "me-notifications": {"own": Probe(lambda w: {}, own=True)},
    # tenants (platform staff only: PLATFORM_STAFF_ONLY)
    "tenant-list": {"staff": Probe(lambda w: {}, body=lambda w: {"name": "zq-x"})},
    "tenant-detail": {"b-tenant": Probe(lambda w: {"pk": w.b.tenant.pk})},
    # workflows
    "workflow-list": {
        "b-tenant": Probe(_b_tenant()),
        "own": Probe(_a_tenant(), own=True, creates=True, body=lambda w: {"name": "zq-x"}),
    },
    "workflow-detail": {
        "b-tenant": Probe(_b_tenant(pk=lambda w: w.b.workflow.pk)),
        "a-tenant": Probe(_a_tenant(pk=lambda w: w.b.workflow.pk)),
    },
    "step-list": {
        "b-workflow": Probe(lambda w: {"workflow_id": w.b.workflow.pk}),
        # A step config naming tenant B's group is a 400 with the words used for an id that
        # does not exist (so nothing is inferred); configs resolve inside the step's tenant
        # only anyway, see test_a_step_naming_tenant_b_group_resolves_to_nobody.
        "own": Probe(
            lambda w: {"workflow_id": w.a.workflow.pk},
            own=True,
            body=lambda w: {
                "name": "zq-x",
                "order": 50,
                "action": "approval",
                "config": {"approvers": {"security_group": w.b.group.pk}},
            },
        ),
    },
    "step-detail": {
        "b-workflow": Probe(lambda w: {"workflow_id": w.b.workflow.pk, "pk": w.b.step.pk}),
        "a-workflow": Probe(lambda w: {"workflow_id": w.a.workflow.pk, "pk": w.b.step.pk}),
    },
    "run-detail": {
        "transfer-run": Probe(lambda w: {"pk": w.b.transfer_run.pk}),
        "case-run": Probe(lambda w: {"pk": w.b.case_run.pk}),
    },
    "run-cancel": {
        "transfer-run": Probe(lambda w: {"pk": w.b.transfer_run.pk}),
        "case-run": Probe(lambda w: {"pk": w.b.case_run.pk}),
    },
    "run-retry": {
        "transfer-run": Probe(lambda w: {"pk": w.b.transfer_run.pk}),
        "case-run": Probe(lambda w: {"pk": w.b.case_run.pk}),
    },
    "audit-log": {
        "own": Probe(lambda w: {}, own=True),
        "b-object": Probe(
            lambda w: {},
            own=True,
            query=lambda w: {"object_type": "workflows.workflow", "object_id": w.b.workflow.pk},
        ),
    },
    "webhook-list": {
        "own": Probe(
            lambda w: {},
            own=True,
            body=lambda w: {"url": "https://a.example.test/", "events": ["task.sneezed"]},
        ),
    },
    "webhook-detail": {"b-webhook": Probe(lambda w: {"pk": w.b.webhook.pk})},
    "webhook-rotate-secret": {"b-webhook": Probe(lambda w: {"pk": w.b.webhook.pk})},
    "webhook-deliveries": {"b-webhook": Probe(lambda w: {"subscription_id": w.b.webhook.pk})},
    "task-inbox": {
        "own": Probe(lambda w: {}, own=True),
        "own-filtered": Probe(lambda w: {}, own=True, query=lambda w: {"action": "approval"}),
    },
    "task-detail": {
        "approval-task": Probe(lambda w: {"pk": w.b.transfer_task.pk}),
        "form-task": Probe(lambda w: {"pk": w.b.case_task.pk}),
    },
    "task-approve": {"approval-task": Probe(lambda w: {"pk": w.b.transfer_task.pk})},
    "task-reject": {"approval-task": Probe(lambda w: {"pk": w.b.transfer_task.pk})},
    "task-complete": {"form-task": Probe(lambda w: {"pk": w.b.case_task.pk})},
    "task-claim": {
        "approval-task": Probe(lambda w: {"pk": w.b.transfer_task.pk}),
        "form-task": Probe(lambda w: {"pk": w.b.case_task.pk}),
    },
    "task-release": {"approval-task": Probe(lambda w: {"pk": w.b.transfer_task.pk})},
    "task-reassign": {
        "approval-task": Probe(
            lambda w: {"pk": w.b.transfer_task.pk},
            body=lambda w: {"to_user": w.a.agent.pk, "reason": "zq"},
        ),
        "form-task": Probe(
            lambda w: {"pk": w.b.case_task.pk},
            body=lambda w: {"to_user": w.b.submitter.pk, "reason": "zq"},
        ),
    },
    "calendar-list": {
        "own": Probe(
            lambda w: {},
            own=True,
            creates=True,
            body=lambda w: {"name": "zq-x", "time_zone": "UTC"},
        ),
    },
    "calendar-detail": {"b-calendar": Probe(lambda w: {"pk": w.b.calendar.pk})},
    "report-cycle-times": {
        "own": Probe(lambda w: {}, own=True),
        "b-workflow": Probe(lambda w: {}, own=True, query=lambda w: {"workflow": w.b.workflow.pk}),
    },
    "report-overdue": {
        "own": Probe(lambda w: {}, own=True),
        "b-workflow": Probe(lambda w: {}, own=True, query=lambda w: {"workflow": w.b.workflow.pk}),
    },
    "report-approvers": {
        "own": Probe(lambda w: {}, own=True),
        "b-workflow": Probe(lambda w: {}, own=True, query=lambda w: {"workflow": w.b.workflow.pk}),
    },
    # approvals
    "workflow-assignment-list": {
        "own": Probe(
            lambda w: {},
            own=True,
            query=lambda w: {"security_group": w.b.group.pk},
            body=lambda w: {
                "security_group": w.b.group.pk,
                "workflow_template": w.b.template.pk,
                "execution_order": 9,
            },
        ),
        "own-group": Probe(
            lambda w: {},
            own=True,
            methods=frozenset({"post"}),
            body=lambda w: {
                "security_group": w.a.group.pk,
                "workflow_template": w.b.template.pk,
                "execution_order": 9,
            },
        ),
    },
    "workflow-assignment-bulk-assign": {
        "b-group": Probe(
            lambda w: {},
            own=True,
            body=lambda w: {
                "security_group_id": w.b.group.pk,
                "workflow_assignments": [
                    {"workflow_template_id": w.a.template.pk, "execution_order": 1}
                ],
            },
        ),
        "own-group": Probe(
            lambda w: {},
            own=True,
            body=lambda w: {
                "security_group_id": w.a.group.pk,
                "workflow_assignments": [
                    {"workflow_template_id": w.b.template.pk, "execution_order": 1}
                ],
            },
        ),
    },
    "workflow-assignment-reorder": {
        "b-group": Probe(
            lambda w: {},
            own=True,
            body=lambda w: {
                "security_group_id": w.b.group.pk,
                "assignment_orders": [{"assignment_id": w.b.assignment.pk, "execution_order": 5}],
            },
        ),
        "own-group": Probe(
            lambda w: {},
            own=True,
            body=lambda w: {
                "security_group_id": w.a.group.pk,
                "assignment_orders": [{"assignment_id": w.b.assignment.pk, "execution_order": 5}],
            },
        ),
    },
    "workflow-assignment-detail": {
        "b-assignment": Probe(lambda w: {"pk": w.b.assignment.pk}),
        "own": Probe(
            lambda w: {"pk": w.a.assignment.pk},
            own=True,
            methods=WRITES_WITH_BODY,
            body=lambda w: {
                "security_group": w.b.group.pk,
                "workflow_template": w.b.template.pk,
                "execution_order": 4,
            },
        ),
        "own-template": Probe(
            lambda w: {"pk": w.a.assignment.pk},
            own=True,
            methods=WRITES_WITH_BODY,
            body=lambda w: {
                "security_group": w.a.group.pk,
                "workflow_template": w.b.template.pk,
                "execution_order": 4,
            },
        ),
    },
    "security-group-list": {
        "own": Probe(lambda w: {}, own=True, creates=True, body=lambda w: {"name": "zq-x"}),
    },
    "security-group-detail": {"b-group": Probe(lambda w: {"pk": w.b.group.pk})},
    "security-group-member-list": {
        "b-group": Probe(lambda w: {"group_id": w.b.group.pk}),
        "own": Probe(
            lambda w: {"group_id": w.a.group.pk},
            own=True,
            body=lambda w: {"user": w.b.viewer.pk},
        ),
    },
    "security-group-member-detail": {
        "b-group": Probe(lambda w: {"group_id": w.b.group.pk, "user_id": w.b.submitter.pk}),
        "a-group": Probe(lambda w: {"group_id": w.a.group.pk, "user_id": w.b.submitter.pk}),
    },
    "transfer-list": {
        "own": Probe(
            lambda w: {},
            own=True,
            query=lambda w: {"security_group": w.b.group.pk},
            body=lambda w: {
                "security_group": w.b.group.pk,
                "transfer_type": "FAR",
                "reference": "ZQ-NEW-1",
                "amount": "1.00",
                "currency": "USD",
            },
        ),
    },
    "transfer-detail": {"b-transfer": Probe(lambda w: {"pk": w.b.transfer.pk})},
    "transfer-approve": {"b-transfer": Probe(lambda w: {"pk": w.b.transfer.pk})},
    "transfer-reject": {"b-transfer": Probe(lambda w: {"pk": w.b.transfer.pk})},
    "transfer-cancel": {"b-transfer": Probe(lambda w: {"pk": w.b.transfer.pk})},
    # cases
    "case-list": {
        "own": Probe(
            lambda w: {},
            own=True,
            query=lambda w: {"assignee": w.b.submitter.pk},
            body=lambda w: {"title": "zq-x", "assignee": w.b.submitter.pk},
        ),
    },
    "case-detail": {
        "b-case": Probe(lambda w: {"pk": w.b.case.pk}),
        "own": Probe(
            lambda w: {"pk": w.a.case.pk},
            own=True,
            methods=WRITES_WITH_BODY,
            body=lambda w: {"title": "zq-x", "assignee": w.b.submitter.pk},
        ),
    },
    "case-run-start": {
        "b-case": Probe(lambda w: {"pk": w.b.case.pk}),
        "own": Probe(
            lambda w: {"pk": w.a.case.pk}, own=True, body=lambda w: {"workflow": w.b.workflow.pk}
        ),
    },
}


# ---------------------------------------------------------------------------------------------
# The two tenants


def _intake(tenant: Tenant, name: str) -> Any:
    workflow = WorkflowFactory(tenant=tenant, name=name)
    step = StepFactory(workflow=workflow, order=0, name=f"{name} safety", action="check_safety")
    StepFactory(workflow=workflow, order=1, name=f"{name} contact", action="verify_contact")
    return workflow, step


def _far_chain(tenant: Tenant, group: Any, prefix: str, count: int) -> list[Any]:
    """`count` FAR templates with one approval step each, assigned to `group` in order."""
    assignments = []
    for index in range(1, count + 1):
        template = WorkflowTemplateFactory(
            tenant=tenant,
            name=f"{prefix} FAR {index}",
            code=f"{prefix.upper().replace('-', '_')}_FAR_{index}",
            transfer_type="FAR",
        )
        StepFactory(
            workflow=template,
            order=0,
            action="approval",
            name=f"{prefix} approve {index}",
            config={"approvers": {"security_group": group.pk}},
        )
        assignments.append(
            WorkflowAssignmentFactory(
                security_group=group, workflow_template=template, execution_order=index
            )
        )
    return assignments


def build_tenant_b(make_user: Callable[..., Any]) -> SimpleNamespace:
    """Tenant B's world: definitions, a group, a transfer mid-chain, a case with a run."""
    tenant = TenantFactory(name=f"{MARKER} org", slug=MARKER)

    def user(role: str, label: str) -> Any:
        return make_user(
            role, tenant=tenant, email=f"{MARKER}-{label}@b.test", full_name=f"{MARKER} {label}"
        )

    admin = user(Role.ADMIN, "admin")
    submitter = user(Role.AGENT, "submitter")
    approver = user(Role.SUPERVISOR, "approver")
    viewer = user(Role.VIEWER, "viewer")
    group = SecurityGroupFactory(tenant=tenant, name=f"{MARKER} finance")
    for member in (submitter, approver):
        SecurityGroupMemberFactory(security_group=group, user=member)
    assignments = _far_chain(tenant, group, MARKER, 2)
    workflow, step = _intake(tenant, f"{MARKER} intake")
    with transaction.atomic():
        transfer = transfer_services.transfer_create(
            tenant=tenant,
            transfer_type="FAR",
            reference=f"{MARKER.upper()}-T1",
            amount=Decimal("125.00"),
            currency="USD",
            security_group_id=group.pk,
            description=f"{MARKER} transfer",
            actor=submitter,
        )
    case = CaseFactory(
        tenant=tenant,
        reference=f"{MARKER.upper()}-C1",
        title=f"{MARKER} case",
        assignee=submitter,
    )
    case_run = case_services.case_start_run(
        tenant=tenant, case_id=case.pk, workflow_id=workflow.pk, actor=admin
    )
    transfer_run = WorkflowRun.objects.get(
        tenant=tenant, subject_type="transfer", subject_id=transfer.pk, sequence=1
    )
    # Overdue: what /api/reports/overdue/ would list, were it tenant A's.
    HumanTask.objects.filter(run=case_run, status=TaskStatus.PENDING).update(
        due_at=datetime.now(UTC) - timedelta(days=1)
    )
    calendar = BusinessCalendar.objects.create(
        tenant=tenant, name=f"{MARKER} hours", start_time="09:00", end_time="17:00"
    )
    webhook = WebhookSubscription.objects.create(
        tenant=tenant,
        url=f"https://{MARKER}.example.test/hook",
        events=["task.created"],
        secret=f"whsec_{MARKER}",
        description=f"{MARKER} hook",
    )
    WebhookDelivery.objects.create(
        tenant=tenant, subscription=webhook, event="task.created", key=f"{MARKER}-1"
    )
    Delegation.objects.create(
        tenant=tenant,
        user=approver,
        delegate=submitter,
        starts_at=timezone.now(),
        ends_at=timezone.now() + timedelta(days=3),
        reason=f"{MARKER} away",
    )
    world = SimpleNamespace(
        tenant=tenant,
        admin=admin,
        submitter=submitter,
        approver=approver,
        viewer=viewer,
        group=group,
        template=assignments[0].workflow_template,
        assignment=assignments[0],
        workflow=workflow,
        step=step,
        transfer=transfer,
        transfer_run=transfer_run,
        transfer_task=HumanTask.objects.get(run=transfer_run, status=TaskStatus.PENDING),
        case=case,
        case_run=case_run,
        case_task=HumanTask.objects.get(run=case_run, status=TaskStatus.PENDING),
        calendar=calendar,
        webhook=webhook,
    )
    assert transfer_run.status == "running"
    assert case_run.status == "running"
    return world


def build_tenant_a(tenant: Tenant, make_user: Callable[..., Any]) -> SimpleNamespace:
    admin = make_user(Role.ADMIN, tenant=tenant)
    agent = make_user(Role.AGENT, tenant=tenant)
    group = SecurityGroupFactory(tenant=tenant, name="alpha finance")
    for member in (admin, agent):
        SecurityGroupMemberFactory(security_group=group, user=member)
    (assignment,) = _far_chain(tenant, group, "alpha", 1)
    workflow, _ = _intake(tenant, "alpha intake")
    case = CaseFactory(tenant=tenant, title="alpha case")
    return SimpleNamespace(
        tenant=tenant,
        admin=admin,
        agent=agent,
        group=group,
        template=assignment.workflow_template,
        assignment=assignment,
        workflow=workflow,
        case=case,
    )


GHOST_BASE = 900_000_000


def ghost_of(b: SimpleNamespace) -> SimpleNamespace:
    """Tenant B with every object replaced by an id that exists nowhere."""
    return SimpleNamespace(
        **{
            key: SimpleNamespace(pk=GHOST_BASE + index, id=GHOST_BASE + index)
            for index, key in enumerate(vars(b))
        }
    )


@pytest.fixture
def world(tenant, make_user) -> SimpleNamespace:
    return SimpleNamespace(a=build_tenant_a(tenant, make_user), b=build_tenant_b(make_user))


# ---------------------------------------------------------------------------------------------
# Tenant B's rows


def tenant_models() -> list[Any]:
    return [
        model
        for model in apps.get_models()
        if any(f.name == "tenant" and f.concrete for f in model._meta.get_fields())
    ]


def snapshot(tenant: Tenant) -> dict[str, list[dict[str, Any]]]:
    """Every row of every tenant-owned model that belongs to `tenant`, and the tenant row."""
    rows = {
        model._meta.label: list(
            model._base_manager.filter(tenant_id=tenant.pk).order_by("pk").values()
        )
        for model in tenant_models()
    }
    rows["tenants.Tenant"] = list(Tenant.objects.filter(pk=tenant.pk).values())
    return rows


def test_snapshot_covers_the_tenant_owned_models():
    labels = {model._meta.label for model in tenant_models()}
    expected = {
        "accounts.User",
        "approvals.SecurityGroup",
        "approvals.SecurityGroupMember",
        "approvals.WorkflowAssignment",
        "approvals.Transfer",
        "cases.Case",
        "workflows.Workflow",
        "workflows.Step",
        "workflows.WorkflowRun",
        "workflows.StepRun",
        "workflows.HumanTask",
    }
    assert expected <= labels


def test_tenant_b_world_is_rich(world):
    rows = snapshot(world.b.tenant)
    for label in (
        "accounts.User",
        "approvals.SecurityGroup",
        "approvals.SecurityGroupMember",
        "approvals.WorkflowAssignment",
        "approvals.Transfer",
        "cases.Case",
        "workflows.Workflow",
        "workflows.Step",
        "workflows.WorkflowRun",
        "workflows.StepRun",
        "workflows.HumanTask",
    ):
        assert rows[label], f"tenant B has no {label} row: the probes would prove nothing"


def test_a_step_naming_tenant_b_group_resolves_to_nobody(world):
    """A step config of tenant A holding tenant B's group id reaches none of B's members."""
    b_group = {"security_group": world.b.group.pk}
    assert list(eligible_users(world.b.tenant.pk, b_group))  # B's own steps do reach them
    assert not eligible_users(world.a.tenant.pk, b_group).exists()
    b_users = {"users": [world.b.approver.pk, world.b.submitter.pk]}
    assert not eligible_users(world.a.tenant.pk, b_users).exists()


# ---------------------------------------------------------------------------------------------
# Coverage of the URL configuration


def test_route_discovery_sees_the_known_routes():
    routes = {r.name: r for r in api_routes()}
    assert routes["workflow-detail"].methods == ("get", "put", "patch", "delete")
    assert routes["transfer-list"].methods == ("get", "post")
    assert routes["workflow-assignment-reorder"].methods == ("put",)
    assert routes["case-run-start"].methods == ("post",)
    assert "healthz" not in routes  # outside /api/


def test_every_api_route_is_covered():
    routes = api_routes()
    unnamed = [r.route for r in routes if not r.name]
    assert not unnamed, f"routes without a URL name cannot be mapped to probes: {unnamed}"
    names = [r.name for r in routes]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert not duplicates, f"URL names used by more than one route: {duplicates}"
    uncovered = [
        f"{r.name} (/{r.route})"
        for r in routes
        if r.name not in PROBES and r.name not in NOT_TENANT_DATA
    ]
    assert not uncovered, (
        "API routes without a cross-tenant probe in tests/test_cross_tenant.py PROBES "
        f"(or an allow-list entry in NOT_TENANT_DATA): {uncovered}"
    )
    stale = sorted((set(PROBES) | set(NOT_TENANT_DATA) | PLATFORM_STAFF_ONLY) - set(names))
    assert not stale, f"probes or allow-list entries for routes that no longer exist: {stale}"
    assert not set(PROBES) & set(NOT_TENANT_DATA), "a route is both probed and allow-listed"


def _cases() -> list[Any]:
    params = []
    for route in api_routes():
        if route.name in NOT_TENANT_DATA:
            continue
        probes = PROBES.get(route.name or "")
        if not probes:
            params.append(
                pytest.param(route, "", "", "", id=f"UNCOVERED {route.name or route.route}")
            )
            continue
        for method in route.methods:
            for label, probe in probes.items():
                if probe.methods is not None and method not in probe.methods:
                    continue
                for role in ("admin", "agent"):
                    params.append(
                        pytest.param(
                            route,
                            method,
                            label,
                            role,
                            id=f"{method.upper()} {route.name} [{label}] {role}",
                        )
                    )
    return params


# ---------------------------------------------------------------------------------------------
# The requests


def not_found_body(path: str) -> dict[str, Any]:
    if path.startswith("/api/approvals/"):
        return {"success": False, "errors": {"detail": "Not found."}}
    return {"detail": "Not found."}


def _ints(value: Any) -> set[int]:
    if isinstance(value, bool):
        return set()
    if isinstance(value, int):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_ints(v) for v in value.values())) if value else set()
    if isinstance(value, list | tuple):
        return set().union(*(_ints(v) for v in value)) if value else set()
    return set()


@dataclass
class Answer:
    status: int
    text: str
    ids: set[int] = field(default_factory=set)

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None

    def normalized(self) -> Any:
        """Error bodies may echo the id they refused: compare them with the ids blanked out."""
        text = self.text
        if self.status >= 400:
            for value in sorted(self.ids, reverse=True):
                text = re.sub(rf"(?<!\d){value}(?!\d)", "<ID>", text)
        return self.status, json.loads(text) if text else None


def send(client: Any, method: str, name: str, probe: Probe, w: Any) -> tuple[str, Answer]:
    kwargs = probe.kwargs(w)
    path = reverse(name, kwargs=kwargs)
    body = (probe.body or generic_body)(w)
    query = probe.query(w) if probe.query else {}
    if method == "get":
        response = client.get(path, query)
        sent = (kwargs, query)
    else:
        url = f"{path}?{urlencode(query)}" if query else path
        response = getattr(client, method)(url, body, format="json")
        sent = (kwargs, query, body)
    text = response.content.decode()
    if not (text and response.get("Content-Type", "").startswith("application/json")):
        text = json.dumps({"non_json": response.get("Content-Type", ""), "body": text[:500]})
    return path, Answer(response.status_code, text, _ints(sent))


def _writes_expected(probe: Probe, role: str) -> set[int]:
    expected = {201} if probe.creates else {400, 404}
    if role == "agent":
        expected |= {403}
    return expected


@pytest.mark.parametrize(("route", "method", "label", "role"), _cases())
def test_tenant_a_cannot_reach_tenant_b(world, client_for, route, method, label, role):
    assert method, (
        f"route {route.name!r} (/{route.route}) has no cross-tenant probe: add one to PROBES in "
        "tests/test_cross_tenant.py, or an allow-list entry if it carries no tenant data"
    )
    probe = PROBES[route.name][label]
    user = world.a.admin if role == "admin" else world.a.agent
    client = client_for(user)
    ghost_world = SimpleNamespace(a=world.a, b=ghost_of(world.b))
    where = f"{method.upper()} {route.name} [{label}] as tenant A's {role}"

    before = snapshot(world.b.tenant)
    path, answer = send(client, method, route.name, probe, world)
    assert answer.status < 500, f"{where}: server error {answer.status}: {answer.text}"
    assert MARKER not in answer.text.lower(), f"{where} leaked tenant B's data: {answer.text}"
    assert snapshot(world.b.tenant) == before, f"{where} changed tenant B's rows"

    if route.name in PLATFORM_STAFF_ONLY:
        assert answer.status == 403, f"{where}: platform-staff route answered {answer.status}"
    elif not probe.own:
        expected_status = {404} if role == "admin" else {403, 404}
        assert answer.status in expected_status, f"{where}: {answer.status} {answer.text}"
        if answer.status == 404:
            assert answer.json() == not_found_body(path), f"{where}: {answer.text}"
    elif method == "get":
        assert answer.status in {200, 400, 403, 404} - ({403} if role == "admin" else set()), (
            f"{where}: {answer.status} {answer.text}"
        )
    else:
        expected = _writes_expected(probe, role)
        assert answer.status in expected, f"{where}: {answer.status} {answer.text}"

    # The same request with ids that exist nowhere answers the same: nothing to infer.
    ghost_kwargs = probe.kwargs(ghost_world)
    ghost_request = (
        ghost_kwargs,
        (probe.body or generic_body)(ghost_world),
        probe.query(ghost_world) if probe.query else {},
    )
    real_request = (
        probe.kwargs(world),
        (probe.body or generic_body)(world),
        probe.query(world) if probe.query else {},
    )
    if ghost_request != real_request and not (
        probe.own and method != "get" and answer.status < 400
    ):
        _, ghost = send(client, method, route.name, probe, ghost_world)
        assert ghost.normalized() == answer.normalized(), (
            f"{where}: tenant B's ids answer differently from ids that exist nowhere:\n"
            f"  tenant B: {answer.status} {answer.text}\n  missing:  {ghost.status} {ghost.text}"
        )
        assert snapshot(world.b.tenant) == before, f"{where} (missing ids) changed tenant B's rows"


# ---------------------------------------------------------------------------------------------
# Invalid bodies: another tenant's object is looked up before the body is read (issue 11 item 10)

WRITE_METHODS = ("post", "put", "patch")


def wrong_types_body(w: Any) -> dict[str, Any]:
    """Every field `generic_body` knows, each with a type no serializer accepts."""
    return {key: [[None]] for key in generic_body(w)}


# (label, content type, body) per kind of invalid body; None: the JSON of `wrong_types_body`
BAD_BODIES: dict[str, tuple[str, str | None]] = {
    "wrong-types": ("application/json", None),
    "malformed-json": ("application/json", '{"comment": "x", "data": {'),
    "not-an-object": ("application/json", '["comment"]'),
    "too-deep": ("application/json", '{"data": ' + "[" * 100 + "]" * 100 + "}"),
    "nul": ("application/json", '{"comment": "a\\u0000b", "data": {"k": "\\u0000"}}'),
    "not-json": ("text/plain", "comment=x"),
}


def _bad_body_cases() -> list[Any]:
    params = []
    for route in api_routes():
        probes = PROBES.get(route.name or "", {})
        for method in route.methods:
            if method not in WRITE_METHODS:
                continue
            for label, probe in probes.items():
                if probe.methods is None or method in probe.methods:
                    params.append(
                        pytest.param(
                            route, method, label, id=f"{method.upper()} {route.name} [{label}]"
                        )
                    )
    return params


def test_every_write_route_is_probed_with_invalid_bodies():
    probed = {(c.values[0].name, c.values[1]) for c in _bad_body_cases()}
    writes = {
        (r.name, m)
        for r in api_routes()
        if r.name not in NOT_TENANT_DATA
        for m in r.methods
        if m in WRITE_METHODS
    }
    assert writes - probed == set(), (
        f"write routes without an invalid-body probe: {writes - probed}"
    )
    for name in (
        "task-complete",
        "task-approve",
        "transfer-approve",
        "run-cancel",
        "case-run-start",
    ):
        assert (name, "post") in probed


def send_raw(
    client: Any, method: str, name: str, probe: Probe, w: Any, kind: str, key: bool
) -> tuple[str, Answer]:
    kwargs = probe.kwargs(w)
    path = reverse(name, kwargs=kwargs)
    content_type, text = BAD_BODIES[kind]
    if text is None:
        text = json.dumps(wrong_types_body(w))
    headers = {"HTTP_IDEMPOTENCY_KEY": f"zq-key-{kind}"} if key else {}
    response = getattr(client, method)(path, data=text, content_type=content_type, **headers)
    body = response.content.decode()
    if not (body and response.get("Content-Type", "").startswith("application/json")):
        body = json.dumps({"non_json": response.get("Content-Type", ""), "body": body[:500]})
    return path, Answer(response.status_code, body, _ints((kwargs, text)))


@pytest.mark.parametrize(("route", "method", "label"), _bad_body_cases())
def test_an_invalid_body_on_tenant_b_objects_is_a_404(world, client_for, route, method, label):
    """404 whatever the body (wrong types, broken JSON, another content type, a NUL...) and
    with or without an Idempotency-Key: the path's objects are looked up first, so the answer
    cannot tell tenant B's ids from ids that exist nowhere, and nothing of tenant B changes."""
    probe = PROBES[route.name][label]
    ghost_world = SimpleNamespace(a=world.a, b=ghost_of(world.b))
    clients = {"admin": client_for(world.a.admin), "agent": client_for(world.a.agent)}
    for kind in BAD_BODIES:
        for key in (False, True):
            for role, client in clients.items():
                where = f"{method.upper()} {route.name} [{label}] as {role} with a {kind} body" + (
                    " and an Idempotency-Key" if key else ""
                )
                before = snapshot(world.b.tenant)
                path, answer = send_raw(client, method, route.name, probe, world, kind, key)
                assert answer.status < 500, f"{where}: server error {answer.status}: {answer.text}"
                assert MARKER not in answer.text.lower(), f"{where} leaked: {answer.text}"
                assert snapshot(world.b.tenant) == before, f"{where} changed tenant B's rows"
                if route.name in PLATFORM_STAFF_ONLY:
                    assert answer.status == 403, f"{where}: {answer.status} {answer.text}"
                elif not probe.own:
                    expected = {404} if role == "admin" else {403, 404}
                    assert answer.status in expected, f"{where}: {answer.status} {answer.text}"
                    if answer.status == 404:
                        assert answer.json() == not_found_body(path), f"{where}: {answer.text}"
                elif answer.status < 400:
                    continue  # an own object and a body naming nothing it reads (a PATCH)
                _, ghost = send_raw(client, method, route.name, probe, ghost_world, kind, key)
                assert ghost.normalized() == answer.normalized(), (
                    f"{where}: tenant B's ids answer differently from missing ids:\n"
                    f"  tenant B: {answer.status} {answer.text}\n"
                    f"  missing:  {ghost.status} {ghost.text}"
                )
