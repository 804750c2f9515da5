"""Platform staff manage tenants; the CLI creates tenants and users; seed_demo is idempotent."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Role, User
from tenants.models import Tenant
from tests.factories import UserFactory
from workflows.models import Workflow

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


def test_staff_crud_tenants(client_for):
    staff = UserFactory(tenant=None, is_staff=True)
    client = client_for(staff)
    response = client.post("/api/tenants/", {"name": "North Line"}, format="json")
    assert response.status_code == 201
    assert response.json()["slug"] == "north-line"
    tenant_id = response.json()["id"]
    assert (
        client.patch(f"/api/tenants/{tenant_id}/", {"is_active": False}, format="json").json()[
            "is_active"
        ]
        is False
    )
    assert (
        client.post(
            "/api/tenants/", {"name": "Again", "slug": "north-line"}, format="json"
        ).status_code
        == 400
    )
    assert client.get("/api/tenants/").json()["count"] == 1


def test_tenant_admins_cannot_manage_tenants(admin_client):
    assert admin_client.get("/api/tenants/").status_code == 403
    assert admin_client.post("/api/tenants/", {"name": "X"}, format="json").status_code == 403


def test_create_tenant_prints_id():
    output = run("create_tenant", "Night Line", "--slug", "night")
    assert Tenant.objects.get(slug="night").pk == int(output)
    with pytest.raises(CommandError):
        run("create_tenant", "Night Line", "--slug", "night")


def test_create_user_prints_id(tenant):
    output = run(
        "create_user",
        "--tenant",
        tenant.slug,
        "--email",
        "cli@example.test",
        "--password",
        "Str0ng-Passw0rd!",
        "--role",
        "SUPERVISOR",
    )
    user = User.objects.get(pk=int(output))
    assert (user.email, user.role, user.tenant_id) == (
        "cli@example.test",
        Role.SUPERVISOR,
        tenant.id,
    )
    assert user.check_password("Str0ng-Passw0rd!")
    with pytest.raises(CommandError):
        run(
            "create_user",
            "--tenant",
            "missing",
            "--email",
            "x@example.test",
            "--password",
            "Str0ng-Passw0rd!",
            "--role",
            "AGENT",
        )


def test_seed_demo_is_idempotent():
    first = run("seed_demo")
    counts = (Tenant.objects.count(), User.objects.count(), Workflow.objects.count())
    second = run("seed_demo")
    assert (Tenant.objects.count(), User.objects.count(), Workflow.objects.count()) == counts
    assert "admin@demo.example" in first
    assert "admin@demo.example" in second
    intake = Workflow.objects.unscoped().get(code="SURVIVOR_INTAKE")
    assert [s.action for s in intake.steps.order_by("order")] == [
        "verify_contact",
        "check_safety",
        "send_email",
    ]
