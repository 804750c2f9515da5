"""Query budgets (DESIGN §6): the case list and the case detail cost the same for 1 or 30."""

import pytest

from accounts.models import Role
from cases.tests.conftest import LIST_URL, case_url, intake_workflow, runs_url
from cases.tests.test_case_runs import case_runs
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db

# The user with their tenant (1) + count (1) + the page with assignees joined (1).
LIST_QUERIES = 6
# The user (1) + the case (1) + its runs (1) + their steps (1).
DETAIL_QUERIES = 7
# The user (1) + count (1) + the page (1) + one `describe` of all its cases (1).
INBOX_QUERIES = 7


def test_list_is_constant_for_1_and_30_cases(
    agent_client, make_user, tenant, other_tenant, django_assert_num_queries
):
    CaseFactory(tenant=tenant, assignee=make_user(Role.AGENT))
    CaseFactory(tenant=other_tenant)
    with django_assert_num_queries(LIST_QUERIES):
        assert agent_client.get(LIST_URL).json()["count"] == 1
    for _ in range(29):
        CaseFactory(tenant=tenant, assignee=make_user(Role.AGENT))
    with django_assert_num_queries(LIST_QUERIES):
        body = agent_client.get(LIST_URL).json()
    assert body["count"] == 30
    assert all(c["assignee_email"] for c in body["results"])
    with django_assert_num_queries(LIST_QUERIES):
        assert agent_client.get(LIST_URL, {"search": "case", "status": "open"}).json()["count"]


def test_detail_is_constant_for_1_and_30_runs(agent_client, tenant, django_assert_num_queries):
    intake = intake_workflow(tenant)
    one, many = CaseFactory(tenant=tenant), CaseFactory(tenant=tenant)
    agent_client.post(runs_url(one.pk), {"workflow": intake.pk}, format="json")
    case_runs(tenant, many, [intake_workflow(tenant) for _ in range(30)])
    with django_assert_num_queries(DETAIL_QUERIES):
        assert len(agent_client.get(case_url(one.pk)).json()["runs"]) == 1
    with django_assert_num_queries(DETAIL_QUERIES):
        runs = agent_client.get(case_url(many.pk)).json()["runs"]
    assert len(runs) == 30
    assert all(len(r["steps"]) == 2 for r in runs)


def test_inbox_of_case_tasks_is_constant(agent_client, tenant, django_assert_num_queries):
    intake = intake_workflow(tenant)
    first = CaseFactory(tenant=tenant)
    agent_client.post(runs_url(first.pk), {"workflow": intake.pk}, format="json")
    with django_assert_num_queries(INBOX_QUERIES):
        assert agent_client.get("/api/tasks/").json()["count"] == 1
    for _ in range(20):
        case = CaseFactory(tenant=tenant)
        agent_client.post(runs_url(case.pk), {"workflow": intake.pk}, format="json")
    with django_assert_num_queries(INBOX_QUERIES):
        items = agent_client.get("/api/tasks/").json()["results"]
    assert len(items) == 21
    assert all(item["subject"]["reference"].startswith("CASE-") for item in items)
