"""End-to-end data: the demo tenant (as `make run` has it) and a second tenant with a transfer
of its own, so a spec can open another tenant's URL. Writes the ids the specs need as JSON."""

import json
import sys
from decimal import Decimal

import django

django.setup()

from django.db import transaction  # noqa: E402

from accounts.models import Role  # noqa: E402
from accounts.services import user_create  # noqa: E402
from approvals import services as approval_services  # noqa: E402
from approvals.services.transfers import transfer_create  # noqa: E402
from core.tenancy import set_db_context  # noqa: E402
from demo.data import DEMO_PASSWORD, FINANCE_GROUP, seed_demo  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from workflows import services as workflow_services  # noqa: E402

with transaction.atomic():
    set_db_context(bypass=True)  # platform script: builds whole tenants
    demo = seed_demo()
    finance = next(g for g in demo["security_groups"] if g.name == FINANCE_GROUP)
    other = Tenant.objects.create(slug="other", name="Other Helpline")
    admin = user_create(
        tenant=other, email="admin@other.example", password=DEMO_PASSWORD, role=Role.ADMIN
    )
    approver = user_create(
        tenant=other, email="approver@other.example", password=DEMO_PASSWORD, role=Role.SUPERVISOR
    )
    group = approval_services.group_create(tenant=other, name="Other Finance", actor=admin)
    for member in (admin, approver):  # the creator may not approve their own transfer
        approval_services.group_add_member_by_name(
            tenant=other, group_name=group.name, user=member, actor=admin
        )
    workflow = workflow_services.workflow_create(
        tenant=other, name="Other approval", code="OTHER_WF", transfer_type="FAR", actor=admin
    )
    workflow_services.step_create(
        tenant=other,
        workflow=workflow,
        name="Approve",
        order=0,
        action="approval",
        config={},
        actor=admin,
    )
    approval_services.assignment_create(
        tenant=other,
        security_group_id=group.pk,
        workflow_template_id=workflow.pk,
        execution_order=1,
        actor=admin,
    )
    transfer = transfer_create(
        tenant=other,
        transfer_type="FAR",
        reference="OTHER-1",
        amount=Decimal("10.00"),
        currency="USD",
        security_group_id=group.pk,
        actor=admin,
    )
    data = {
        "demo_tenant": demo["tenant"].pk,
        "finance_group": finance.pk,
        "other_tenant": other.pk,
        "other_transfer": transfer.pk,
        "other_workflow": workflow.pk,
    }

with open(sys.argv[1], "w") as out:
    json.dump(data, out)
print("e2e data:", data)
