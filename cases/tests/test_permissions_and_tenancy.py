"""Who may do what with cases, and another tenant's case behaving exactly like a missing one."""

import pytest

from accounts.models import Role
from cases.models import Case
from cases.tests.conftest import LIST_URL, case_url, runs_url
from workflows.models import HumanTask, WorkflowRun

pytestmark = pytest.mark.django_db

NOT_FOUND = {"detail": "Not found."}


def attempt(client, method, case, intake):
    """One request per operation; returns its status code."""
    if method == "list":
        return client.get(LIST_URL).status_code
    if method == "create":
        return client.post(LIST_URL, {"title": "New"}, format="json").status_code
    if method == "retrieve":
        return client.get(case_url(case.pk)).status_code
    if method == "put":
        return client.put(case_url(case.pk), {"title": "Put"}, format="json").status_code
    if method == "patch":
        return client.patch(case_url(case.pk), {"priority": "high"}, format="json").status_code
    if method == "start_run":
        return client.post(runs_url(case.pk), {"workflow": intake.pk}, format="json").status_code
    if method == "delete":
        return client.delete(case_url(case.pk)).status_code
    raise AssertionError(method)


# role -> expected status per operation
MATRIX = {
    Role.ADMIN: {"create": 201, "put": 200, "patch": 200, "start_run": 201, "delete": 204},
    Role.SUPERVISOR: {"create": 201, "put": 200, "patch": 200, "start_run": 201, "delete": 204},
    Role.AGENT: {"create": 201, "put": 200, "patch": 200, "start_run": 201, "delete": 403},
    Role.VIEWER: {"create": 403, "put": 403, "patch": 403, "start_run": 403, "delete": 403},
}


@pytest.mark.parametrize("role", list(MATRIX))
@pytest.mark.parametrize("method", ["create", "put", "patch", "start_run", "delete"])
def test_role_matrix_for_writes(client_for, make_user, case, intake, role, method):
    client = client_for(make_user(role))
    before = Case.objects.values().get(pk=case.pk)
    expected = MATRIX[role][method]
    assert attempt(client, method, case, intake) == expected
    if expected == 403:
        assert Case.objects.values().get(pk=case.pk) == before
        assert Case.objects.count() == 1
        assert not WorkflowRun.objects.exists()


@pytest.mark.parametrize("role", list(MATRIX))
def test_every_role_reads(client_for, make_user, case, intake, role):
    client = client_for(make_user(role))
    assert attempt(client, "list", case, intake) == 200
    assert attempt(client, "retrieve", case, intake) == 200


def test_forbidden_writes_say_why(client_for, make_user, case):
    viewer, agent = make_user(Role.VIEWER), make_user(Role.AGENT)
    response = client_for(viewer).patch(case_url(case.pk), {"title": "x"}, format="json")
    assert response.json() == {"detail": "A VIEWER may only read cases."}
    response = client_for(agent).delete(case_url(case.pk))
    assert response.json() == {"detail": "Only a SUPERVISOR or ADMIN may delete a case."}


def test_no_token_is_401(client, case):
    assert client.get(LIST_URL).status_code == 401
    assert client.get(case_url(case.pk)).status_code == 401
    assert client.post(LIST_URL, {"title": "x"}, content_type="application/json").status_code == 401


def test_platform_staff_without_tenant_is_403(client_for, tenant):
    from tests.factories import UserFactory

    staff = UserFactory(tenant=None, is_staff=True, role=Role.ADMIN)
    assert client_for(staff).get(LIST_URL).status_code == 403


@pytest.mark.parametrize("method", ["retrieve", "put", "patch", "start_run", "delete"])
def test_another_tenants_case_is_404_for_every_method(
    admin_client, other_case, other_intake, intake, method
):
    before = Case.objects.values().get(pk=other_case.pk)
    # Our own workflow too: it must be the case lookup that fails, whichever workflow is named.
    for workflow in (intake, other_intake):
        assert attempt(admin_client, method, other_case, workflow) == 404
    assert Case.objects.values().get(pk=other_case.pk) == before
    assert not WorkflowRun.objects.exists()


def test_another_tenants_case_body_equals_a_missing_ones(admin_client, other_case):
    missing = other_case.pk + 1000
    for url in (case_url(other_case.pk), case_url(missing)):
        response = admin_client.get(url)
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
    response = admin_client.post(runs_url(other_case.pk), {"workflow": "bad"}, format="json")
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    response = admin_client.patch(case_url(other_case.pk), {"status": "bad"}, format="json")
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_list_and_search_never_show_another_tenants_cases(admin_client, case, other_case):
    body = admin_client.get(LIST_URL).json()
    assert [c["id"] for c in body["results"]] == [case.pk]
    body = admin_client.get(LIST_URL, {"search": "CASE-A1"}).json()
    assert [c["id"] for c in body["results"]] == [case.pk]


def test_starting_another_tenants_workflow_is_400_like_a_missing_one(
    admin_client, case, other_intake
):
    response = admin_client.post(runs_url(case.pk), {"workflow": other_intake.pk}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "workflow": [f'Invalid pk "{other_intake.pk}" - object does not exist.']
    }
    assert not WorkflowRun.objects.exists()
    assert not HumanTask.objects.exists()


def test_other_tenant_cannot_act_on_or_see_our_case_tasks(
    client_for, make_user, other_tenant, agent_client, case, intake
):
    run_id = agent_client.post(runs_url(case.pk), {"workflow": intake.pk}, format="json")
    task = HumanTask.objects.get(run_id=run_id.json()["id"])
    stranger = client_for(make_user(Role.SUPERVISOR, tenant=other_tenant))
    assert stranger.get("/api/tasks/").json()["count"] == 0
    response = stranger.post(
        f"/api/tasks/{task.pk}/complete/", {"data": {"risk_level": "low"}}, format="json"
    )
    assert response.status_code == 404
    task.refresh_from_db()
    assert task.status == "pending"


def test_describe_never_reads_another_tenants_case(tenant, other_case):
    from cases.subject import describe

    assert describe(tenant.pk, [other_case.pk]) == {}
    assert describe(other_case.tenant_id, [other_case.pk])[other_case.pk]["reference"] == "CASE-A1"
