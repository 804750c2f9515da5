"""Who may do what: no token is 401, non-ADMIN writes are 403, another tenant's rows are 404
(in the path) or the same 400 as a missing id (in the body); always in the envelope."""

import pytest
from rest_framework.test import APIClient

from approvals.models import WorkflowAssignment
from approvals.tests.conftest import (
    BULK_URL,
    GROUPS_URL,
    LIST_URL,
    REORDER_URL,
    detail_url,
    group_url,
    members_url,
)
from tests.factories import WorkflowAssignmentFactory

pytestmark = pytest.mark.django_db

NOT_FOUND = {"success": False, "errors": {"detail": "Not found."}}
NO_TOKEN = {"success": False, "errors": {"detail": "Authentication credentials were not provided."}}
NOT_ADMIN = {"success": False, "errors": {"detail": "Only a tenant ADMIN may change this."}}


@pytest.fixture
def assignment(finance, far_template):
    return WorkflowAssignmentFactory(
        security_group=finance, workflow_template=far_template, execution_order=1
    )


def every_endpoint(assignment, group):
    return [
        ("get", LIST_URL),
        ("post", LIST_URL),
        ("get", detail_url(assignment.id)),
        ("put", detail_url(assignment.id)),
        ("patch", detail_url(assignment.id)),
        ("delete", detail_url(assignment.id)),
        ("post", BULK_URL),
        ("put", REORDER_URL),
        ("get", GROUPS_URL),
        ("post", GROUPS_URL),
        ("get", group_url(group.id)),
        ("patch", group_url(group.id)),
        ("delete", group_url(group.id)),
        ("get", members_url(group.id)),
        ("post", members_url(group.id)),
        ("delete", members_url(group.id, 1)),
    ]


def test_without_a_token_every_endpoint_is_401_in_the_envelope(assignment, finance):
    client = APIClient()
    for method, url in every_endpoint(assignment, finance):
        response = getattr(client, method)(url, {}, format="json")
        assert response.status_code == 401, (method, url)
        assert response.json() == NO_TOKEN, (method, url)


def test_a_bad_token_is_401_in_the_envelope():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    response = client.get(LIST_URL)
    assert response.status_code == 401
    assert response.json()["success"] is False
    assert "detail" in response.json()["errors"]


@pytest.mark.parametrize("role_fixture", ["viewer", "agent", "supervisor"])
def test_non_admins_read_but_cannot_write(request, client_for, role_fixture, assignment, finance):
    client = client_for(request.getfixturevalue(role_fixture))
    assert client.get(LIST_URL).json()["count"] == 1
    assert client.get(detail_url(assignment.id)).status_code == 200
    assert client.get(GROUPS_URL).json()["count"] == 1
    assert client.get(members_url(finance.id)).status_code == 200
    for method, url in every_endpoint(assignment, finance):
        if method == "get":
            continue
        response = getattr(client, method)(url, {}, format="json")
        assert response.status_code == 403, (method, url)
        assert response.json() == NOT_ADMIN, (method, url)
    assignment.refresh_from_db()
    assert assignment.execution_order == 1


def test_unknown_method_is_405_in_the_envelope(admin_client):
    response = admin_client.delete(LIST_URL)
    assert response.status_code == 405
    assert response.json() == {
        "success": False,
        "errors": {"detail": 'Method "DELETE" not allowed.'},
    }
    response = admin_client.get(BULK_URL)
    assert response.status_code == 405
    assert response.json() == {"success": False, "errors": {"detail": 'Method "GET" not allowed.'}}


def test_unrouted_approvals_path_is_404_in_the_envelope(admin_client):
    response = admin_client.get("/api/approvals/nothing-here/")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_another_tenants_assignment_is_404_like_a_missing_one(
    admin_client, other_group, other_template
):
    foreign = WorkflowAssignmentFactory(
        security_group=other_group, workflow_template=other_template, execution_order=1
    )
    for method in ("get", "put", "patch", "delete"):
        response = getattr(admin_client, method)(detail_url(foreign.id), {}, format="json")
        assert response.status_code == 404, method
        assert response.json() == NOT_FOUND
        missing = getattr(admin_client, method)(detail_url(99999999), {}, format="json")
        assert missing.json() == response.json()
    assert WorkflowAssignment.objects.filter(pk=foreign.pk).exists()
    assert admin_client.get(LIST_URL).json() == {"success": True, "count": 0, "assignments": []}


def test_another_tenants_group_or_template_cannot_be_assigned(
    admin_client, finance, far_template, other_group, other_template
):
    response = admin_client.post(
        LIST_URL,
        {
            "security_group": other_group.id,
            "workflow_template": far_template.id,
            "execution_order": 1,
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": {"security_group": [f'Invalid pk "{other_group.id}" - object does not exist.']},
    }
    response = admin_client.post(
        LIST_URL,
        {
            "security_group": finance.id,
            "workflow_template": other_template.id,
            "execution_order": 1,
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": {
            "workflow_template": [f'Invalid pk "{other_template.id}" - object does not exist.']
        },
    }
    response = admin_client.post(
        BULK_URL,
        {
            "security_group_id": other_group.id,
            "workflow_assignments": [
                {"workflow_template_id": far_template.id, "execution_order": 1}
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "security_group_id": [f'Invalid pk "{other_group.id}" - object does not exist.']
    }
    assert not WorkflowAssignment.objects.exists()


def test_another_tenants_assignment_cannot_be_moved_onto_by_update(
    admin_client, assignment, other_group, other_template
):
    for field, value in (
        ("security_group", other_group.id),
        ("workflow_template", other_template.id),
    ):
        response = admin_client.patch(detail_url(assignment.id), {field: value}, format="json")
        assert response.status_code == 400
        assert response.json()["errors"] == {
            field: [f'Invalid pk "{value}" - object does not exist.']
        }
    assignment.refresh_from_db()
    assert (assignment.security_group_id, assignment.workflow_template_id) != (
        other_group.id,
        other_template.id,
    )


def test_another_tenants_group_cannot_be_reordered(admin_client, other_group, other_template):
    foreign = WorkflowAssignmentFactory(
        security_group=other_group, workflow_template=other_template, execution_order=1
    )
    response = admin_client.put(
        REORDER_URL,
        {
            "security_group_id": other_group.id,
            "assignment_orders": [{"assignment_id": foreign.id, "execution_order": 5}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": {
            "security_group_id": [f'Invalid pk "{other_group.id}" - object does not exist.']
        },
    }
    foreign.refresh_from_db()
    assert foreign.execution_order == 1


def test_another_tenants_group_is_404_for_groups_and_members(admin_client, other_group):
    for method, url in (
        ("get", group_url(other_group.id)),
        ("put", group_url(other_group.id)),
        ("patch", group_url(other_group.id)),
        ("delete", group_url(other_group.id)),
        ("get", members_url(other_group.id)),
        ("post", members_url(other_group.id)),
        ("delete", members_url(other_group.id, 1)),
    ):
        response = getattr(admin_client, method)(url, {"name": "x", "user": 1}, format="json")
        assert response.status_code == 404, (method, url)
        assert response.json() == NOT_FOUND
    other_group.refresh_from_db()
    assert other_group.name == "Finance Team"
