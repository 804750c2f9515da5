"""The seed's seven assignment endpoints, field by field: bodies, messages, status codes."""

import pytest

from approvals.api.serializers import SEED_DATETIME
from approvals.models import WorkflowAssignment
from approvals.tests.conftest import LIST_URL, detail_url
from tests.factories import (
    SecurityGroupFactory,
    WorkflowAssignmentFactory,
    WorkflowTemplateFactory,
)

pytestmark = pytest.mark.django_db


def seed_object(assignment):
    """The seed's assignment object, built independently of the serializer under test."""
    assignment.refresh_from_db()
    return {
        "id": assignment.id,
        "security_group": assignment.security_group_id,
        "security_group_name": assignment.security_group.name,
        "workflow_template": assignment.workflow_template_id,
        "workflow_template_name": assignment.workflow_template.name,
        "workflow_template_code": assignment.workflow_template.code,
        "transfer_type": assignment.workflow_template.transfer_type,
        "execution_order": assignment.execution_order,
        "is_active": assignment.is_active,
        "created_at": assignment.created_at.strftime(SEED_DATETIME),
        "created_by": assignment.created_by_id,
    }


def test_example_1_create_single_assignment(admin_client, admin, finance, far_template):
    response = admin_client.post(
        LIST_URL,
        {
            "security_group": finance.id,
            "workflow_template": far_template.id,
            "execution_order": 1,
            "is_active": True,
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assignment = WorkflowAssignment.objects.get(pk=body["assignment"]["id"])
    assert body == {
        "success": True,
        "message": "Workflow assignment created successfully",
        "assignment": {
            "id": assignment.id,
            "security_group": finance.id,
            "security_group_name": "Finance Team",
            "workflow_template": far_template.id,
            "workflow_template_name": "FAR Approval Workflow",
            "workflow_template_code": "FAR_WF_V1",
            "transfer_type": "FAR",
            "execution_order": 1,
            "is_active": True,
            "created_at": assignment.created_at.strftime(SEED_DATETIME),
            "created_by": admin.id,
        },
    }
    assert body["assignment"]["created_at"].endswith("Z")
    assert (assignment.tenant_id, assignment.created_by_id, assignment.updated_by_id) == (
        finance.tenant_id,
        admin.id,
        admin.id,
    )


def test_create_defaults_is_active_to_true_and_accepts_false(
    admin_client, finance, far_template, review_template
):
    body = admin_client.post(
        LIST_URL,
        {"security_group": finance.id, "workflow_template": far_template.id, "execution_order": 1},
        format="json",
    ).json()
    assert body["assignment"]["is_active"] is True
    body = admin_client.post(
        LIST_URL,
        {
            "security_group": finance.id,
            "workflow_template": review_template.id,
            "execution_order": 2,
            "is_active": False,
        },
        format="json",
    ).json()
    assert body["assignment"]["is_active"] is False


def test_example_3_list_filtered_by_group_in_execution_order(
    admin_client, finance, far_template, review_template, other_group, other_template
):
    second = WorkflowAssignmentFactory(
        security_group=finance, workflow_template=review_template, execution_order=2
    )
    first = WorkflowAssignmentFactory(
        security_group=finance, workflow_template=far_template, execution_order=1
    )
    WorkflowAssignmentFactory(
        security_group=SecurityGroupFactory(tenant=finance.tenant), execution_order=1
    )
    WorkflowAssignmentFactory(
        security_group=other_group, workflow_template=other_template, execution_order=1
    )
    response = admin_client.get(f"{LIST_URL}?security_group={finance.id}")
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "count": 2,
        "assignments": [seed_object(first), seed_object(second)],
    }


def test_list_without_filter_is_every_assignment_of_the_tenant_by_group_then_order(
    admin_client, tenant, other_group
):
    later_group, earlier_group = (
        SecurityGroupFactory(tenant=tenant),
        SecurityGroupFactory(tenant=tenant),
    )
    rows = [
        WorkflowAssignmentFactory(security_group=earlier_group, execution_order=5),
        WorkflowAssignmentFactory(security_group=later_group, execution_order=2),
        WorkflowAssignmentFactory(security_group=later_group, execution_order=1),
        WorkflowAssignmentFactory(security_group=earlier_group, execution_order=3),
    ]
    WorkflowAssignmentFactory(security_group=other_group)
    body = admin_client.get(LIST_URL).json()
    assert body["count"] == 4
    assert [a["id"] for a in body["assignments"]] == [
        rows[2].id,
        rows[1].id,
        rows[3].id,
        rows[0].id,
    ]


def test_list_filter_with_a_non_integer_is_a_400_naming_the_parameter(admin_client):
    response = admin_client.get(f"{LIST_URL}?security_group=abc")
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": {"security_group": ["A valid integer is required."]},
    }


def test_list_filtered_by_another_tenants_group_is_empty(admin_client, other_group):
    WorkflowAssignmentFactory(security_group=other_group)
    assert admin_client.get(f"{LIST_URL}?security_group={other_group.id}").json() == {
        "success": True,
        "count": 0,
        "assignments": [],
    }


def test_retrieve_detail(admin_client, finance, far_template):
    assignment = WorkflowAssignmentFactory(
        security_group=finance, workflow_template=far_template, execution_order=1
    )
    response = admin_client.get(detail_url(assignment.id))
    assert response.status_code == 200
    assert response.json() == {"success": True, "assignment": seed_object(assignment)}


def test_put_updates_execution_order(admin_client, admin, finance, far_template):
    assignment = WorkflowAssignmentFactory(
        security_group=finance, workflow_template=far_template, execution_order=1
    )
    response = admin_client.put(
        detail_url(assignment.id),
        {
            "security_group": finance.id,
            "workflow_template": far_template.id,
            "execution_order": 2,
            "is_active": True,
        },
        format="json",
    )
    assert response.status_code == 200
    assignment.refresh_from_db()
    assert assignment.execution_order == 2
    assert assignment.updated_by_id == admin.id
    assert response.json() == {
        "success": True,
        "message": "Assignment updated successfully",
        "assignment": seed_object(assignment),
    }


def test_patch_changes_only_the_given_fields(admin_client, finance, far_template):
    assignment = WorkflowAssignmentFactory(
        security_group=finance, workflow_template=far_template, execution_order=3
    )
    response = admin_client.patch(detail_url(assignment.id), {"is_active": False}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Assignment updated successfully"
    assert (body["assignment"]["is_active"], body["assignment"]["execution_order"]) == (False, 3)


def test_put_requires_every_field(admin_client, finance, far_template):
    assignment = WorkflowAssignmentFactory(security_group=finance, workflow_template=far_template)
    response = admin_client.put(detail_url(assignment.id), {"execution_order": 2}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": {
            "security_group": ["This field is required."],
            "workflow_template": ["This field is required."],
        },
    }


def test_update_to_a_taken_order_or_template_is_a_400(
    admin_client, finance, far_template, review_template
):
    first = WorkflowAssignmentFactory(
        security_group=finance, workflow_template=far_template, execution_order=1
    )
    second = WorkflowAssignmentFactory(
        security_group=finance, workflow_template=review_template, execution_order=2
    )
    response = admin_client.patch(detail_url(second.id), {"execution_order": 1}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": {
            "execution_order": [
                "Execution order 1 is already used in security group 'Finance Team'."
            ]
        },
    }
    response = admin_client.patch(
        detail_url(second.id), {"workflow_template": far_template.id}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": {
            "non_field_errors": [
                "Workflow template 'FAR_WF_V1' is already assigned to security group 'Finance Team'"
            ]
        },
    }
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.execution_order, second.execution_order) == (1, 2)


def test_update_can_move_an_assignment_to_another_group(
    admin_client, tenant, finance, far_template
):
    assignment = WorkflowAssignmentFactory(security_group=finance, workflow_template=far_template)
    auditors = SecurityGroupFactory(tenant=tenant, name="Auditors")
    body = admin_client.patch(
        detail_url(assignment.id), {"security_group": auditors.id}, format="json"
    ).json()
    assert (body["assignment"]["security_group"], body["assignment"]["security_group_name"]) == (
        auditors.id,
        "Auditors",
    )


def test_update_keeps_working_for_a_since_deactivated_template(admin_client, finance, far_template):
    assignment = WorkflowAssignmentFactory(security_group=finance, workflow_template=far_template)
    far_template.is_active = False
    far_template.save()
    response = admin_client.patch(detail_url(assignment.id), {"is_active": False}, format="json")
    assert response.status_code == 200


def test_update_to_an_inactive_template_is_a_400(admin_client, tenant, finance, far_template):
    assignment = WorkflowAssignmentFactory(security_group=finance, workflow_template=far_template)
    retired = WorkflowTemplateFactory(tenant=tenant, code="OLD", is_active=False)
    response = admin_client.patch(
        detail_url(assignment.id), {"workflow_template": retired.id}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "workflow_template": ["Workflow template 'OLD' is inactive."]
    }


def test_delete_message_names_the_code_and_the_group(admin_client, finance, far_template):
    assignment = WorkflowAssignmentFactory(security_group=finance, workflow_template=far_template)
    response = admin_client.delete(detail_url(assignment.id))
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "message": 'Removed workflow "FAR_WF_V1" from security group "Finance Team"',
    }
    assert not WorkflowAssignment.objects.filter(pk=assignment.pk).exists()
    assert admin_client.get(detail_url(assignment.id)).status_code == 404


def test_duplicate_template_in_group_is_the_documented_400(admin_client, finance, far_template):
    WorkflowAssignmentFactory(
        security_group=finance, workflow_template=far_template, execution_order=1
    )
    response = admin_client.post(
        LIST_URL,
        {
            "security_group": finance.id,
            "workflow_template": far_template.id,
            "execution_order": 2,
            "is_active": True,
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": {
            "non_field_errors": [
                "Workflow template 'FAR_WF_V1' is already assigned to security group 'Finance Team'"
            ]
        },
    }
    assert WorkflowAssignment.objects.filter(security_group=finance).count() == 1


def test_duplicate_order_in_group_is_a_400(admin_client, finance, far_template, review_template):
    WorkflowAssignmentFactory(
        security_group=finance, workflow_template=far_template, execution_order=1
    )
    response = admin_client.post(
        LIST_URL,
        {
            "security_group": finance.id,
            "workflow_template": review_template.id,
            "execution_order": 1,
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": {
            "execution_order": [
                "Execution order 1 is already used in security group 'Finance Team'."
            ]
        },
    }


@pytest.mark.parametrize("group_id", [999999, -1, 0])
def test_invalid_security_group_id_is_a_400_on_the_field(admin_client, far_template, group_id):
    response = admin_client.post(
        LIST_URL,
        {"security_group": group_id, "workflow_template": far_template.id, "execution_order": 1},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": {"security_group": [f'Invalid pk "{group_id}" - object does not exist.']},
    }


def test_invalid_workflow_template_id_is_a_400_on_the_field(admin_client, finance):
    response = admin_client.post(
        LIST_URL,
        {"security_group": finance.id, "workflow_template": 999999, "execution_order": 1},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": {"workflow_template": ['Invalid pk "999999" - object does not exist.']},
    }


def test_inactive_group_or_template_cannot_be_assigned(admin_client, tenant, finance, far_template):
    retired_group = SecurityGroupFactory(tenant=tenant, name="Old Team", is_active=False)
    response = admin_client.post(
        LIST_URL,
        {
            "security_group": retired_group.id,
            "workflow_template": far_template.id,
            "execution_order": 1,
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "security_group": ["Security group 'Old Team' is inactive."]
    }
    far_template.is_active = False
    far_template.save()
    response = admin_client.post(
        LIST_URL,
        {"security_group": finance.id, "workflow_template": far_template.id, "execution_order": 1},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "workflow_template": ["Workflow template 'FAR_WF_V1' is inactive."]
    }
    assert not WorkflowAssignment.objects.exists()


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        (
            {"execution_order": 0},
            {"execution_order": ["Ensure this value is greater than or equal to 1."]},
        ),
        (
            {"execution_order": -3},
            {"execution_order": ["Ensure this value is greater than or equal to 1."]},
        ),
        ({"execution_order": "1"}, {"execution_order": ["A valid integer is required."]}),
        ({"execution_order": 1.5}, {"execution_order": ["A valid integer is required."]}),
        (
            {"execution_order": 2**31},
            {"execution_order": ["Ensure this value is less than or equal to 2147483647."]},
        ),
        ({"execution_order": None}, {"execution_order": ["This field may not be null."]}),
        ({"security_group": "abc"}, {"security_group": ["A valid integer is required."]}),
        ({"security_group": True}, {"security_group": ["A valid integer is required."]}),
        ({"workflow_template": [1]}, {"workflow_template": ["A valid integer is required."]}),
        (
            {"workflow_template": 2**70},
            {
                "workflow_template": [
                    "Ensure this value is less than or equal to 9223372036854775807."
                ]
            },
        ),
        ({"is_active": "yes"}, {"is_active": ["Must be a valid boolean."]}),
    ],
)
def test_wrong_types_and_ranges_are_400s_naming_the_field(
    admin_client, finance, far_template, payload, errors
):
    body = {
        "security_group": finance.id,
        "workflow_template": far_template.id,
        "execution_order": 1,
        **payload,
    }
    response = admin_client.post(LIST_URL, body, format="json")
    assert response.status_code == 400
    assert response.json() == {"success": False, "errors": errors}
    assert not WorkflowAssignment.objects.exists()


def test_non_object_and_malformed_bodies_are_400s(admin_client):
    response = admin_client.post(LIST_URL, [1, 2], format="json")
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]},
    }
    response = admin_client.post(LIST_URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert body["errors"]["detail"].startswith("JSON parse error")
