"""Who may do what on the seed 1 endpoints, and that other tenants' objects stay invisible."""

import pytest

from accounts.models import Role
from tests.factories import StepFactory, WorkflowFactory
from workflows.models import Step, Workflow

pytestmark = pytest.mark.django_db

ROLES = [Role.ADMIN, Role.SUPERVISOR, Role.AGENT, Role.VIEWER]


def endpoints(tenant, workflow, step):
    """(method, url, body) for every operation of the seed 1 endpoints."""
    wfs = f"/api/tenants/{tenant.id}/workflows/"
    steps = f"/api/workflows/{workflow.id}/steps/"
    return [
        ("get", wfs, None),
        ("post", wfs, {"name": "New"}),
        ("get", f"{wfs}{workflow.id}/", None),
        ("put", f"{wfs}{workflow.id}/", {"name": "Renamed"}),
        ("patch", f"{wfs}{workflow.id}/", {"name": "Patched"}),
        ("delete", f"{wfs}{workflow.id}/", None),
        ("get", steps, None),
        ("post", steps, {"name": "S", "order": 9, "action": "check_safety"}),
        ("get", f"{steps}{step.id}/", None),
        ("put", f"{steps}{step.id}/", {"name": "S2", "order": 8, "action": "check_safety"}),
        ("patch", f"{steps}{step.id}/", {"name": "S3"}),
        ("delete", f"{steps}{step.id}/", None),
    ]


SUCCESS = {"get": 200, "post": 201, "put": 200, "patch": 200, "delete": 204}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("index", range(12))
def test_role_matrix(client_for, make_user, tenant, role, index):
    workflow = WorkflowFactory(tenant=tenant)
    step = StepFactory(workflow=workflow, order=0)
    method, url, body = endpoints(tenant, workflow, step)[index]
    client = client_for(make_user(role))
    response = getattr(client, method)(url, body, format="json")
    if method == "get" or role == Role.ADMIN:
        assert response.status_code == SUCCESS[method], response.content
    else:
        assert response.status_code == 403
        assert Workflow.objects.get(pk=workflow.pk).name == workflow.name
        assert Step.objects.filter(pk=step.pk).exists()


def snapshot():
    return (
        sorted(Workflow.objects.values_list("id", "name", "is_active", "tenant_id")),
        sorted(Step.objects.values_list("id", "name", "order", "workflow_id", "tenant_id")),
    )


@pytest.mark.parametrize("index", range(12))
def test_other_tenants_objects_are_404_and_unchanged(
    client_for, admin, tenant, other_tenant, index
):
    other_workflow = WorkflowFactory(tenant=other_tenant)
    other_step = StepFactory(workflow=other_workflow, order=0)
    before = snapshot()
    method, url, body = endpoints(other_tenant, other_workflow, other_step)[index]
    response = getattr(client_for(admin), method)(url, body, format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert snapshot() == before


def test_another_tenants_id_answers_exactly_like_a_missing_one(admin_client, tenant, other_tenant):
    other_workflow = WorkflowFactory(tenant=other_tenant)
    missing = admin_client.get(f"/api/tenants/{tenant.id}/workflows/999999/")
    foreign = admin_client.get(f"/api/tenants/{tenant.id}/workflows/{other_workflow.id}/")
    assert missing.status_code == foreign.status_code == 404
    assert missing.json() == foreign.json()


def test_no_token_is_401(tenant):
    from rest_framework.test import APIClient

    workflow = WorkflowFactory(tenant=tenant)
    client = APIClient()
    for url in (f"/api/tenants/{tenant.id}/workflows/", f"/api/workflows/{workflow.id}/steps/"):
        assert client.get(url).status_code == 401
        assert client.post(url, {"name": "x"}, format="json").status_code == 401
    assert not Workflow.objects.exclude(pk=workflow.pk).exists()


def test_platform_staff_without_tenant_cannot_reach_tenant_data(client_for, tenant):
    from tests.factories import UserFactory

    staff = UserFactory(tenant=None, is_staff=True, role=Role.ADMIN)
    response = client_for(staff).get(f"/api/tenants/{tenant.id}/workflows/")
    assert response.status_code in (403, 404)
