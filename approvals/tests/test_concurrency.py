"""Races on one group with real threads, each on its own database connection (PostgreSQL).

Two bulk-assigns and a reorder at once must end in a state one of them alone could have left:
unique orders, never a 500, never a mix of the two replacements.
"""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import Role
from approvals.models import WorkflowAssignment
from approvals.tests.conftest import BULK_URL, LIST_URL, REORDER_URL
from conftest import obtain_token
from tests.factories import (
    SecurityGroupFactory,
    TenantFactory,
    UserFactory,
    WorkflowAssignmentFactory,
    WorkflowTemplateFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)


def race(token, calls):
    """Run each (method, url, body) in its own thread, released together; return the responses."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def worker(index, method, url, body):
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
            barrier.wait(timeout=10)
            response = getattr(client, method)(url, body, format="json")
            results[index] = (response.status_code, response.json())
        except Exception as exc:  # surfaced by the assertion below, not swallowed
            results[index] = (None, repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, *call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(not thread.is_alive() for thread in threads)
    return results


@pytest.fixture
def setup():
    tenant = TenantFactory()
    admin = UserFactory(tenant=tenant, role=Role.ADMIN)
    group = SecurityGroupFactory(tenant=tenant, name="Finance Team")
    templates = WorkflowTemplateFactory.create_batch(6, tenant=tenant)
    return tenant, obtain_token(admin), group, templates


def group_state(group):
    return list(
        WorkflowAssignment.objects.filter(security_group=group)
        .order_by("execution_order")
        .values_list("workflow_template_id", "execution_order")
    )


@pytest.mark.parametrize("round_", range(4))
def test_two_bulk_assigns_and_a_reorder_end_in_a_valid_state(setup, round_):
    tenant, token, group, templates = setup
    first = [
        WorkflowAssignmentFactory(security_group=group, workflow_template=t, execution_order=i + 1)
        for i, t in enumerate(templates[:2])
    ]
    plan_a = [(templates[0].id, 1), (templates[1].id, 2)]
    plan_b = [(templates[3].id, 1), (templates[4].id, 2), (templates[5].id, 3)]

    def bulk(plan):
        return {
            "security_group_id": group.id,
            "workflow_assignments": [
                {"workflow_template_id": t, "execution_order": o} for t, o in plan
            ],
        }

    reorder = {
        "security_group_id": group.id,
        "assignment_orders": [
            {"assignment_id": first[0].id, "execution_order": 2},
            {"assignment_id": first[1].id, "execution_order": 1},
        ],
    }
    results = race(
        token,
        [
            ("put", REORDER_URL, reorder),
            ("post", BULK_URL, bulk(plan_a)),
            ("post", BULK_URL, bulk(plan_b)),
        ],
    )
    statuses = [status for status, _ in results]
    assert statuses[1:] == [201, 201], results
    assert statuses[0] in (200, 400), results
    if statuses[0] == 400:  # it ran after a bulk-assign had replaced the rows it named
        assert list(results[0][1]["errors"]) == ["assignment_orders"]
    state = group_state(group)
    orders = [order for _, order in state]
    assert len(orders) == len(set(orders))
    assert state in (sorted(plan_a, key=lambda x: x[1]), plan_b), state


def test_two_creates_racing_for_one_order_give_one_201_and_one_400(setup):
    tenant, token, group, templates = setup
    calls = [
        (
            "post",
            LIST_URL,
            {"security_group": group.id, "workflow_template": t.id, "execution_order": 1},
        )
        for t in templates[:2]
    ]
    results = race(token, calls)
    assert sorted(status for status, _ in results) == [201, 400], results
    loser = next(body for status, body in results if status == 400)
    assert loser == {
        "success": False,
        "errors": {
            "execution_order": [
                "Execution order 1 is already used in security group 'Finance Team'."
            ]
        },
    }
    assert WorkflowAssignment.objects.filter(security_group=group).count() == 1


def test_two_reorders_racing_keep_orders_unique(setup):
    tenant, token, group, templates = setup
    rows = [
        WorkflowAssignmentFactory(security_group=group, workflow_template=t, execution_order=i + 1)
        for i, t in enumerate(templates[:3])
    ]

    def reorder(orders):
        return {
            "security_group_id": group.id,
            "assignment_orders": [
                {"assignment_id": row.id, "execution_order": order}
                for row, order in zip(rows, orders, strict=True)
            ],
        }

    results = race(
        token, [("put", REORDER_URL, reorder([3, 1, 2])), ("put", REORDER_URL, reorder([2, 3, 1]))]
    )
    assert [status for status, _ in results] == [200, 200], results
    state = group_state(group)
    assert sorted(order for _, order in state) == [1, 2, 3]
