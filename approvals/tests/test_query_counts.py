"""Query budgets: lists and bulk operations issue a constant number of queries (DESIGN §6)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from approvals.tests.conftest import BULK_URL, GROUPS_URL, LIST_URL, REORDER_URL, members_url
from tests.factories import (
    SecurityGroupFactory,
    SecurityGroupMemberFactory,
    WorkflowAssignmentFactory,
    WorkflowTemplateFactory,
)

pytestmark = pytest.mark.django_db

# Request: the user with their tenant (1) + the list (1).
LIST_QUERIES = 5  # + request transaction: SAVEPOINT, tenant context, RELEASE


def assign(group, count):
    return [
        WorkflowAssignmentFactory(security_group=group, execution_order=i + 1) for i in range(count)
    ]


def test_assignment_list_is_constant_for_1_and_50_assignments(
    admin_client, tenant, django_assert_num_queries
):
    group = SecurityGroupFactory(tenant=tenant)
    assign(group, 1)
    with django_assert_num_queries(LIST_QUERIES):
        assert admin_client.get(LIST_URL).json()["count"] == 1
    assign(SecurityGroupFactory(tenant=tenant), 49)
    with django_assert_num_queries(LIST_QUERIES):
        body = admin_client.get(LIST_URL).json()
    assert body["count"] == 50
    assert all(a["workflow_template_code"] for a in body["assignments"])
    with django_assert_num_queries(LIST_QUERIES):
        assert admin_client.get(f"{LIST_URL}?security_group={group.id}").json()["count"] == 1


def test_group_and_member_lists_are_constant(admin_client, tenant, django_assert_num_queries):
    group = SecurityGroupFactory(tenant=tenant)
    SecurityGroupMemberFactory(security_group=group)
    # user + count + page; members also read the group first.
    with django_assert_num_queries(6):
        admin_client.get(GROUPS_URL)
    with django_assert_num_queries(7):
        admin_client.get(members_url(group.id))
    for _ in range(20):
        SecurityGroupMemberFactory(security_group=SecurityGroupFactory(tenant=tenant))
        SecurityGroupMemberFactory(security_group=group)
    with django_assert_num_queries(6):
        assert len(admin_client.get(GROUPS_URL).json()["security_groups"]) == 21
    with django_assert_num_queries(7):
        assert admin_client.get(members_url(group.id)).json()["count"] == 21


def bulk_payload(group, templates):
    return {
        "security_group_id": group.id,
        "workflow_assignments": [
            {"workflow_template_id": t.id, "execution_order": i + 1}
            for i, t in enumerate(templates)
        ],
    }


def test_bulk_assign_of_500_items_issues_as_many_queries_as_of_2(
    admin_client, tenant, finance, django_assert_num_queries
):
    templates = WorkflowTemplateFactory.create_batch(500, tenant=tenant)
    assign(finance, 3)
    with CaptureQueriesContext(connection) as small:
        response = admin_client.post(BULK_URL, bulk_payload(finance, templates[:2]), format="json")
    assert response.status_code == 201
    with django_assert_num_queries(len(small.captured_queries)):
        response = admin_client.post(BULK_URL, bulk_payload(finance, templates), format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["deleted_count"], body["created_count"], len(body["assignments"])) == (2, 500, 500)
    assert finance.assignments.count() == 500
    assert len(small.captured_queries) <= 13  # incl. the request transaction's 3


def test_reorder_of_many_issues_as_many_queries_as_of_two(
    admin_client, tenant, finance, django_assert_num_queries
):
    rows = assign(finance, 100)

    def payload(subset, shift):
        return {
            "security_group_id": finance.id,
            "assignment_orders": [
                {"assignment_id": a.id, "execution_order": a.execution_order + shift}
                for a in subset
            ],
        }

    with CaptureQueriesContext(connection) as small:
        response = admin_client.put(REORDER_URL, payload(rows[-2:], 1000), format="json")
    assert response.status_code == 200
    with django_assert_num_queries(len(small.captured_queries)):
        response = admin_client.put(REORDER_URL, payload(rows[:98], 500), format="json")
    assert response.status_code == 200
    assert response.json()["message"] == "Reordered 98 workflow assignment(s)"
