"""Offboarding: `tenant_export` writes every row of a tenant, `tenant_delete` removes exactly
those (and the rows hanging off its users), and another tenant keeps every row it had."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Delegation, NotificationPreference, Role
from approvals.services import transfers as transfer_services
from cases import services as case_services
from core.models import AuditEvent, IdempotencyRecord
from tenants.models import Tenant
from tenants.offboarding import SECRET_COLUMNS, tenant_models
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
from workflows.models import (
    BusinessCalendar,
    HumanTask,
    Job,
    NotificationSent,
    OutboxEvent,
    TaskBallot,
    WebhookDelivery,
    WebhookSubscription,
)

pytestmark = pytest.mark.django_db


def build_tenant(prefix: str, make_user: Any) -> SimpleNamespace:
    """A tenant with a row in every tenant table: a transfer mid-chain, a case run, tasks,
    ballots, a webhook with a delivery, a delegation, jobs, tokens."""
    tenant = TenantFactory(name=f"{prefix} org", slug=prefix)
    users = {
        role: make_user(role, tenant=tenant, email=f"{prefix}-{role.lower()}@x.test")
        for role in (Role.ADMIN, Role.AGENT, Role.SUPERVISOR)
    }
    admin, agent, approver = users[Role.ADMIN], users[Role.AGENT], users[Role.SUPERVISOR]
    group = SecurityGroupFactory(tenant=tenant, name=f"{prefix} finance")
    for member in (agent, approver):
        SecurityGroupMemberFactory(security_group=group, user=member)
    for index in (1, 2):
        template = WorkflowTemplateFactory(
            tenant=tenant,
            name=f"{prefix} FAR {index}",
            code=f"{prefix.upper()}_FAR_{index}",
            transfer_type="FAR",
        )
        StepFactory(
            workflow=template,
            order=0,
            action="approval",
            name=f"{prefix} approve {index}",
            config={"approvers": {"security_group": group.pk}},
        )
        WorkflowAssignmentFactory(
            security_group=group, workflow_template=template, execution_order=index
        )
    intake = WorkflowFactory(tenant=tenant, name=f"{prefix} intake")
    StepFactory(workflow=intake, order=0, name="safety", action="check_safety")
    StepFactory(workflow=intake, order=1, name="contact", action="verify_contact")
    with transaction.atomic():
        transfer = transfer_services.transfer_create(
            tenant=tenant,
            transfer_type="FAR",
            reference=f"{prefix.upper()}-T1",
            amount=Decimal("125.00"),
            currency="USD",
            security_group_id=group.pk,
            description=f"{prefix} transfer",
            actor=agent,
        )
    case = CaseFactory(tenant=tenant, reference=f"{prefix.upper()}-C1", assignee=agent)
    case_services.case_start_run(tenant=tenant, case_id=case.pk, workflow_id=intake.pk, actor=admin)
    task = HumanTask.objects.filter(tenant=tenant).order_by("pk").first()
    assert task is not None
    now = timezone.now()
    if not TaskBallot.objects.filter(tenant=tenant).exists():
        TaskBallot.objects.create(tenant=tenant, task=task, user=approver)
    NotificationSent.objects.get_or_create(tenant=tenant, task=task, user=approver, kind="opened")
    NotificationPreference.objects.create(tenant=tenant, user=approver, task_due_soon=False)
    Delegation.objects.create(
        tenant=tenant, user=approver, delegate=agent, starts_at=now, ends_at=now + timedelta(1)
    )
    BusinessCalendar.objects.create(
        tenant=tenant, name=f"{prefix} hours", start_time="09:00", end_time="17:00"
    )
    webhook = WebhookSubscription.objects.create(
        tenant=tenant, url=f"https://{prefix}.test/hook", events=["task.created"], secret="whsec_x"
    )
    WebhookDelivery.objects.create(
        tenant=tenant, subscription=webhook, event="task.created", key=f"{prefix}-1"
    )
    Job.objects.create(tenant=tenant, kind="test.noop", due_at=now + timedelta(days=1))
    OutboxEvent.objects.create(tenant=tenant, topic="test.noop", available_at=now)
    IdempotencyRecord.objects.create(
        tenant=tenant, user=admin, key=f"{prefix}-k", request_hash="0" * 64, response_body={}
    )
    # Rows without tenant_id that hang off the users: refresh tokens, a group membership.
    RefreshToken.for_user(admin).blacklist()
    RefreshToken.for_user(agent)
    admin.groups.add(Group.objects.get_or_create(name="staff-tools")[0])
    return SimpleNamespace(tenant=tenant, transfer=transfer, users=list(users.values()))


def counts(tenant_id: int) -> dict[str, int]:
    rows = {
        m._meta.db_table: m._base_manager.filter(tenant_id=tenant_id).count()
        for m in tenant_models()
    }
    rows["tokens"] = OutstandingToken.objects.filter(user__tenant_id=tenant_id).count()
    rows["blacklisted"] = BlacklistedToken.objects.filter(token__user__tenant_id=tenant_id).count()
    rows["groups"] = Group.objects.filter(user__tenant_id=tenant_id).count()
    rows["tenant"] = Tenant.objects.filter(pk=tenant_id).count()
    return rows


def export(*args: str) -> list[dict[str, Any]]:
    out = StringIO()
    call_command("tenant_export", *args, stdout=out, stderr=StringIO())
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.fixture
def two_tenants(make_user):
    return build_tenant("leaving", make_user), build_tenant("staying", make_user)


def test_every_tenant_table_has_rows_in_the_built_tenant(two_tenants):
    leaving, _ = two_tenants
    empty = [table for table, number in counts(leaving.tenant.pk).items() if not number]
    assert not empty, f"the test tenant has no rows in {empty}: the export proves less"


def test_export_delete_export(two_tenants, tmp_path: Path):
    leaving, staying = two_tenants
    tenant_id = leaving.tenant.pk
    before, staying_before = counts(tenant_id), counts(staying.tenant.pk)
    audit_before = AuditEvent.objects.filter(tenant_id=staying.tenant.pk).count()

    target = tmp_path / "leaving.jsonl"
    call_command("tenant_export", "leaving", "--output", str(target), stderr=StringIO())
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    per_table: dict[str, int] = {}
    for line in lines:
        assert set(line) == {"table", "row"}
        per_table[line["table"]] = per_table.get(line["table"], 0) + 1
        assert line["row"].get("tenant_id", tenant_id) == tenant_id
        assert not SECRET_COLUMNS.get(line["table"], set()) & set(line["row"])
    tables = {m._meta.db_table for m in tenant_models()}
    assert per_table == {"tenants_tenant": 1, **{t: n for t, n in before.items() if t in tables}}
    # Referenced rows come first: a table's first line follows its parents' lines.
    order = list(dict.fromkeys(line["table"] for line in lines))
    assert order[0] == "tenants_tenant"
    assert order.index("accounts_user") < order.index("workflows_humantask")
    assert order.index("workflows_workflowrun") < order.index("workflows_steprun")
    assert order.index("workflows_humantask") < order.index("workflows_taskballot")
    assert "whsec_x" not in target.read_text()

    out = StringIO()
    call_command("tenant_delete", "leaving", "--confirm", "--by", "ops@test", stdout=out)
    assert "deleted" in out.getvalue()

    assert not any(counts(tenant_id).values())
    assert counts(staying.tenant.pk) == staying_before
    assert export("--tenant-id", str(tenant_id)) == []
    with pytest.raises(CommandError, match="No tenant with slug 'leaving'"):
        export("leaving")
    assert len(export("staying")) > 1

    # The history stays: a DELETE event per deleted row, and the last one says who and what.
    deletes = AuditEvent.objects.filter(
        tenant_id=tenant_id, operation="D", request_label="tenant_delete:leaving"
    )
    assert deletes.filter(table__name="approvals_transfer", object_id=leaving.transfer.pk).exists()
    last = deletes.filter(table__name="tenants_tenant").get()
    assert last.new_data["deleted_by"] == "ops@test"
    assert last.new_data["deleted_rows"]["approvals_transfer"] == 1
    assert last.new_data["deleted_rows"]["accounts_user"] == before["accounts_user"]
    assert "webhook_secret" not in last.old_data
    assert not AuditEvent.objects.filter(old_data__icontains="whsec_x").exists()
    assert AuditEvent.objects.filter(tenant_id=staying.tenant.pk).count() == audit_before


def test_delete_needs_confirm_and_shows_counts(two_tenants):
    leaving, _ = two_tenants
    before = counts(leaving.tenant.pk)
    out = StringIO()
    with pytest.raises(CommandError, match="--confirm") as refused:
        call_command("tenant_delete", "leaving", stdout=out)
    assert refused.value.returncode == 2
    assert f"approvals_transfer: {before['approvals_transfer']}" in out.getvalue()
    assert f"accounts_user: {before['accounts_user']}" in out.getvalue()
    assert counts(leaving.tenant.pk) == before


def test_unknown_slug_is_a_clear_error():
    for command in ("tenant_delete", "tenant_export"):
        with pytest.raises(CommandError, match="No tenant with slug 'nobody'") as error:
            call_command(command, "nobody", "--confirm" if command == "tenant_delete" else "-v1")
        assert error.value.returncode == 1
