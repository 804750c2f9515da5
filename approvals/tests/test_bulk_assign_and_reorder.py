"""bulk-assign (atomic replace) and reorder (atomic, swaps allowed), as the seed documents."""

import pytest

from approvals.models import WorkflowAssignment
from approvals.tests.conftest import BULK_URL, REORDER_URL
from approvals.tests.test_assignment_api import seed_object
from tests.factories import (
    SecurityGroupFactory,
    WorkflowAssignmentFactory,
    WorkflowTemplateFactory,
)

pytestmark = pytest.mark.django_db


def orders_of(group):
    return list(
        WorkflowAssignment.objects.filter(security_group=group)
        .order_by("execution_order")
        .values_list("workflow_template__code", "execution_order")
    )


@pytest.fixture
def three_assigned(finance, far_template, review_template, signoff_template):
    return [
        WorkflowAssignmentFactory(
            security_group=finance, workflow_template=template, execution_order=order
        )
        for order, template in enumerate([far_template, review_template, signoff_template], 1)
    ]


def test_example_2_bulk_assign_replaces_the_groups_assignments(
    admin_client, admin, finance, far_template, review_template, signoff_template
):
    old = [
        WorkflowAssignmentFactory(security_group=finance, execution_order=order) for order in (1, 2)
    ]
    untouched = WorkflowAssignmentFactory(
        security_group=SecurityGroupFactory(tenant=finance.tenant),
        workflow_template=far_template,
        execution_order=1,
    )
    response = admin_client.post(
        BULK_URL,
        {
            "security_group_id": finance.id,
            "workflow_assignments": [
                {"workflow_template_id": far_template.id, "execution_order": 1},
                {"workflow_template_id": review_template.id, "execution_order": 2},
                {"workflow_template_id": signoff_template.id, "execution_order": 3},
            ],
        },
        format="json",
    )
    assert response.status_code == 201
    created = list(
        WorkflowAssignment.objects.filter(security_group=finance).order_by("execution_order")
    )
    assert response.json() == {
        "success": True,
        "message": 'Assigned 3 workflow(s) to "Finance Team"',
        "deleted_count": 2,
        "created_count": 3,
        "assignments": [seed_object(a) for a in created],
    }
    assert [a.workflow_template_id for a in created] == [
        far_template.id,
        review_template.id,
        signoff_template.id,
    ]
    assert all(a.created_by_id == admin.id and a.tenant_id == finance.tenant_id for a in created)
    assert not WorkflowAssignment.objects.filter(pk__in=[a.pk for a in old]).exists()
    assert WorkflowAssignment.objects.filter(pk=untouched.pk).exists()


def test_bulk_assign_response_is_sorted_by_execution_order(
    admin_client, finance, far_template, review_template
):
    body = admin_client.post(
        BULK_URL,
        {
            "security_group_id": finance.id,
            "workflow_assignments": [
                {"workflow_template_id": far_template.id, "execution_order": 7},
                {"workflow_template_id": review_template.id, "execution_order": 3},
            ],
        },
        format="json",
    ).json()
    assert [(a["workflow_template_code"], a["execution_order"]) for a in body["assignments"]] == [
        ("FAR_WF_REVIEW", 3),
        ("FAR_WF_V1", 7),
    ]


def test_bulk_assign_with_an_empty_list_clears_the_group(admin_client, finance, three_assigned):
    response = admin_client.post(
        BULK_URL, {"security_group_id": finance.id, "workflow_assignments": []}, format="json"
    )
    assert response.status_code == 201
    assert response.json() == {
        "success": True,
        "message": 'Assigned 0 workflow(s) to "Finance Team"',
        "deleted_count": 3,
        "created_count": 0,
        "assignments": [],
    }


def test_bulk_assign_duplicate_orders_is_the_documented_400_and_changes_nothing(
    admin_client, finance, three_assigned, far_template, review_template
):
    before = orders_of(finance)
    response = admin_client.post(
        BULK_URL,
        {
            "security_group_id": finance.id,
            "workflow_assignments": [
                {"workflow_template_id": far_template.id, "execution_order": 1},
                {"workflow_template_id": review_template.id, "execution_order": 1},
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": {"workflow_assignments": ["Duplicate execution orders in assignment list"]},
    }
    assert orders_of(finance) == before


def test_bulk_assign_duplicate_templates_is_a_400(admin_client, finance, far_template):
    response = admin_client.post(
        BULK_URL,
        {
            "security_group_id": finance.id,
            "workflow_assignments": [
                {"workflow_template_id": far_template.id, "execution_order": 1},
                {"workflow_template_id": far_template.id, "execution_order": 2},
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": {"workflow_assignments": ["Duplicate workflow templates in assignment list"]},
    }


def test_bulk_assign_unknown_and_inactive_templates_are_item_errors_and_nothing_changes(
    admin_client, tenant, finance, three_assigned, far_template, other_template
):
    retired = WorkflowTemplateFactory(tenant=tenant, code="OLD", is_active=False)
    before = orders_of(finance)
    response = admin_client.post(
        BULK_URL,
        {
            "security_group_id": finance.id,
            "workflow_assignments": [
                {"workflow_template_id": far_template.id, "execution_order": 1},
                {"workflow_template_id": 999999, "execution_order": 2},
                {"workflow_template_id": retired.id, "execution_order": 3},
                {"workflow_template_id": other_template.id, "execution_order": 4},
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": {
            "workflow_assignments": {
                "1": {"workflow_template_id": ['Invalid pk "999999" - object does not exist.']},
                "2": {"workflow_template_id": ["Workflow template 'OLD' is inactive."]},
                "3": {
                    "workflow_template_id": [
                        f'Invalid pk "{other_template.id}" - object does not exist.'
                    ]
                },
            }
        },
    }
    assert orders_of(finance) == before


def test_bulk_assign_invalid_or_inactive_group_is_a_400(admin_client, tenant, far_template):
    item = [{"workflow_template_id": far_template.id, "execution_order": 1}]
    response = admin_client.post(
        BULK_URL, {"security_group_id": 424242, "workflow_assignments": item}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": {"security_group_id": ['Invalid pk "424242" - object does not exist.']},
    }
    retired = SecurityGroupFactory(tenant=tenant, name="Old Team", is_active=False)
    response = admin_client.post(
        BULK_URL, {"security_group_id": retired.id, "workflow_assignments": item}, format="json"
    )
    assert response.json()["errors"] == {
        "security_group_id": ["Security group 'Old Team' is inactive."]
    }


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        (
            {"workflow_assignments": "nope"},
            {
                "workflow_assignments": {
                    "non_field_errors": ['Expected a list of items but got type "str".']
                }
            },
        ),
        (
            {"workflow_assignments": [{"workflow_template_id": 1, "execution_order": 0}]},
            {
                "workflow_assignments": {
                    "0": {"execution_order": ["Ensure this value is greater than or equal to 1."]}
                }
            },
        ),
        (
            {"workflow_assignments": [{"workflow_template_id": "x", "execution_order": 1}]},
            {
                "workflow_assignments": {
                    "0": {"workflow_template_id": ["A valid integer is required."]}
                }
            },
        ),
        (
            {"workflow_assignments": [5]},
            {
                "workflow_assignments": {
                    "0": {"non_field_errors": ["Invalid data. Expected a dictionary, but got int."]}
                }
            },
        ),
        ({"security_group_id": None}, {"security_group_id": ["This field may not be null."]}),
        ({"workflow_assignments": None}, {"workflow_assignments": ["This field may not be null."]}),
    ],
)
def test_bulk_assign_wrong_types_are_400s_naming_the_field(admin_client, finance, payload, errors):
    body = {"security_group_id": finance.id, "workflow_assignments": [], **payload}
    response = admin_client.post(BULK_URL, body, format="json")
    assert response.status_code == 400
    assert response.json() == {"success": False, "errors": errors}


def test_example_4_reorder_swaps_two_orders(admin_client, admin, finance, three_assigned):
    first, second, third = three_assigned
    response = admin_client.put(
        REORDER_URL,
        {
            "security_group_id": finance.id,
            "assignment_orders": [
                {"assignment_id": first.id, "execution_order": 2},
                {"assignment_id": second.id, "execution_order": 1},
            ],
        },
        format="json",
    )
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "message": "Reordered 2 workflow assignment(s)",
        "assignments": [seed_object(second), seed_object(first), seed_object(third)],
    }
    assert orders_of(finance) == [("FAR_WF_REVIEW", 1), ("FAR_WF_V1", 2), ("FAR_WF_SIGNOFF", 3)]
    first.refresh_from_db()
    assert first.updated_by_id == admin.id


def test_reorder_of_all_three_as_in_the_seed(admin_client, finance, three_assigned):
    first, second, third = three_assigned
    body = admin_client.put(
        REORDER_URL,
        {
            "security_group_id": finance.id,
            "assignment_orders": [
                {"assignment_id": first.id, "execution_order": 2},
                {"assignment_id": second.id, "execution_order": 1},
                {"assignment_id": third.id, "execution_order": 3},
            ],
        },
        format="json",
    ).json()
    assert body["message"] == "Reordered 3 workflow assignment(s)"
    assert [(a["id"], a["execution_order"]) for a in body["assignments"]] == [
        (second.id, 1),
        (first.id, 2),
        (third.id, 3),
    ]


def test_reorder_rotation_through_the_deferred_constraint(admin_client, finance, three_assigned):
    first, second, third = three_assigned
    response = admin_client.put(
        REORDER_URL,
        {
            "security_group_id": finance.id,
            "assignment_orders": [
                {"assignment_id": first.id, "execution_order": 3},
                {"assignment_id": second.id, "execution_order": 1},
                {"assignment_id": third.id, "execution_order": 2},
            ],
        },
        format="json",
    )
    assert response.status_code == 200
    assert orders_of(finance) == [("FAR_WF_REVIEW", 1), ("FAR_WF_SIGNOFF", 2), ("FAR_WF_V1", 3)]


def test_reorder_clashing_with_an_unlisted_assignment_is_a_400(
    admin_client, finance, three_assigned
):
    first, _, third = three_assigned
    before = orders_of(finance)
    response = admin_client.put(
        REORDER_URL,
        {
            "security_group_id": finance.id,
            "assignment_orders": [
                {"assignment_id": first.id, "execution_order": 2},
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": {
            "assignment_orders": [
                f"Execution order 2 is already used by assignment {three_assigned[1].id}, "
                "which is not in the list."
            ]
        },
    }
    assert orders_of(finance) == before
    response = admin_client.put(
        REORDER_URL,
        {
            "security_group_id": finance.id,
            "assignment_orders": [
                {"assignment_id": third.id, "execution_order": 9},
            ],
        },
        format="json",
    )
    assert response.status_code == 200
    assert orders_of(finance)[-1] == ("FAR_WF_SIGNOFF", 9)


def test_reorder_duplicate_orders_and_ids_are_400s(admin_client, finance, three_assigned):
    first, second, _ = three_assigned
    response = admin_client.put(
        REORDER_URL,
        {
            "security_group_id": finance.id,
            "assignment_orders": [
                {"assignment_id": first.id, "execution_order": 5},
                {"assignment_id": second.id, "execution_order": 5},
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": {"assignment_orders": ["Duplicate execution orders in assignment list"]},
    }
    response = admin_client.put(
        REORDER_URL,
        {
            "security_group_id": finance.id,
            "assignment_orders": [
                {"assignment_id": first.id, "execution_order": 5},
                {"assignment_id": first.id, "execution_order": 6},
            ],
        },
        format="json",
    )
    assert response.json() == {
        "success": False,
        "errors": {"assignment_orders": ["Duplicate assignment ids in assignment list"]},
    }


def test_reorder_ids_outside_the_group_are_item_errors(
    admin_client, tenant, finance, three_assigned, other_group
):
    elsewhere = WorkflowAssignmentFactory(security_group=SecurityGroupFactory(tenant=tenant))
    foreign = WorkflowAssignmentFactory(security_group=other_group)
    before = orders_of(finance)
    response = admin_client.put(
        REORDER_URL,
        {
            "security_group_id": finance.id,
            "assignment_orders": [
                {"assignment_id": three_assigned[0].id, "execution_order": 9},
                {"assignment_id": elsewhere.id, "execution_order": 10},
                {"assignment_id": foreign.id, "execution_order": 11},
                {"assignment_id": 999999, "execution_order": 12},
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    message = "Assignment {} does not belong to security group 'Finance Team'."
    assert response.json() == {
        "success": False,
        "errors": {
            "assignment_orders": {
                "1": {"assignment_id": [message.format(elsewhere.id)]},
                "2": {"assignment_id": [message.format(foreign.id)]},
                "3": {"assignment_id": [message.format(999999)]},
            }
        },
    }
    assert orders_of(finance) == before


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        (
            {"assignment_orders": []},
            {"assignment_orders": {"non_field_errors": ["This list may not be empty."]}},
        ),
        (
            {"assignment_orders": [{"assignment_id": 1, "execution_order": 0}]},
            {
                "assignment_orders": {
                    "0": {"execution_order": ["Ensure this value is greater than or equal to 1."]}
                }
            },
        ),
        ({"security_group_id": "1"}, {"security_group_id": ["A valid integer is required."]}),
        (
            {"security_group_id": 777777},
            {"security_group_id": ['Invalid pk "777777" - object does not exist.']},
        ),
    ],
)
def test_reorder_bad_input_is_a_400_naming_the_field(
    admin_client, finance, three_assigned, payload, errors
):
    body = {
        "security_group_id": finance.id,
        "assignment_orders": [{"assignment_id": three_assigned[0].id, "execution_order": 4}],
        **payload,
    }
    response = admin_client.put(REORDER_URL, body, format="json")
    assert response.status_code == 400
    assert response.json() == {"success": False, "errors": errors}


def test_reorder_accepts_put_only(admin_client, finance):
    response = admin_client.post(REORDER_URL, {}, format="json")
    assert response.status_code == 405
    assert response.json() == {"success": False, "errors": {"detail": 'Method "POST" not allowed.'}}
