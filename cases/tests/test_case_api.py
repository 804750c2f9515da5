"""Case CRUD over HTTP: create, read, update, delete; filters, search, ordering, pagination;
each input rule answers 400 naming its field and changes nothing."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from cases.models import Case
from cases.tests.conftest import LIST_URL, case_url
from tests.factories import CaseFactory
from workflows.models import StateTransition

pytestmark = pytest.mark.django_db


def test_create_generates_reference_and_defaults(agent_client, agent, tenant):
    response = agent_client.post(LIST_URL, {"title": "Caller needs help"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    case = Case.objects.for_tenant(tenant).get()
    assert body["id"] == case.pk
    assert body["reference"] == f"CASE-{case.pk:06d}"
    assert re.fullmatch(r"CASE-\d{6,}", body["reference"])
    assert body["status"] == "open"
    assert body["priority"] == "normal"
    assert body["assignee"] is None
    assert body["assignee_email"] is None
    assert body["data"] == {}
    assert body["description"] == ""
    assert body["created_by"] == agent.pk
    assert body["updated_by"] == agent.pk
    assert body["closed_at"] is None
    assert body["runs"] == []
    assert case.created_by == agent


def test_create_with_every_field(agent_client, make_user, tenant):
    assignee = make_user(Role.AGENT, email="assignee@example.test")
    payload = {
        "reference": "HL-2026/07.1_a",
        "title": "Caller needs a safe place",
        "description": "Called from a neighbour's phone.",
        "priority": "urgent",
        "assignee": assignee.pk,
        "data": {"caller": {"language": "en"}, "callbacks": [1, 2]},
    }
    response = agent_client.post(LIST_URL, payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    for key, value in payload.items():
        assert body[key] == value
    assert body["assignee_email"] == "assignee@example.test"


def test_generated_reference_skips_one_already_taken(agent_client, tenant):
    taken = CaseFactory(tenant=tenant, reference="placeholder")
    Case.objects.filter(pk=taken.pk).update(reference=f"CASE-{taken.pk + 1:06d}")
    response = agent_client.post(LIST_URL, {"title": "Next"}, format="json")
    assert response.status_code == 201
    assert response.json()["id"] == taken.pk + 1
    assert response.json()["reference"] == f"CASE-{taken.pk + 1:06d}-2"


def test_creation_is_recorded_as_a_state_change(agent_client, agent, tenant):
    case_id = agent_client.post(LIST_URL, {"title": "A"}, format="json").json()["id"]
    row = StateTransition.objects.for_tenant(tenant).get(object_type="case", object_id=case_id)
    assert (row.from_status, row.to_status, row.actor_id) == ("", "open", agent.pk)


def test_detail(agent_client, case):
    response = agent_client.get(case_url(case.pk))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == case.pk
    assert body["reference"] == "CASE-A1"
    assert body["runs"] == []


def test_patch_changes_only_given_fields(agent_client, agent, case):
    response = agent_client.patch(case_url(case.pk), {"priority": "high"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["priority"] == "high"
    case.refresh_from_db()
    assert (case.priority, case.title, case.reference) == ("high", "Caller at risk", "CASE-A1")
    assert case.updated_by == agent


def test_put_requires_title_and_keeps_fields_left_out(agent_client, case):
    response = agent_client.put(case_url(case.pk), {"priority": "low"}, format="json")
    assert response.status_code == 400
    assert "title" in response.json()
    response = agent_client.put(
        case_url(case.pk), {"title": "Renamed", "status": "in_progress"}, format="json"
    )
    assert response.status_code == 200, response.content
    case.refresh_from_db()
    assert (case.title, case.status, case.reference) == ("Renamed", "in_progress", "CASE-A1")


def test_closing_sets_closed_at_and_reopening_clears_it(agent_client, agent, tenant, case):
    body = agent_client.patch(case_url(case.pk), {"status": "closed"}, format="json").json()
    assert body["status"] == "closed"
    assert body["closed_at"] is not None
    body = agent_client.patch(case_url(case.pk), {"status": "open"}, format="json").json()
    assert body["closed_at"] is None
    moves = StateTransition.objects.for_tenant(tenant).filter(object_type="case", object_id=case.pk)
    assert [(m.from_status, m.to_status) for m in moves.order_by("id")] == [
        ("open", "closed"),
        ("closed", "open"),
    ]


def test_reference_can_change_but_stays_unique(agent_client, tenant, case):
    CaseFactory(tenant=tenant, reference="CASE-B2")
    response = agent_client.patch(case_url(case.pk), {"reference": "CASE-B2"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"reference": ["A case with reference 'CASE-B2' already exists."]}
    response = agent_client.patch(case_url(case.pk), {"reference": "CASE-C3"}, format="json")
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.reference == "CASE-C3"


def test_same_reference_in_another_tenant_is_fine(agent_client, other_case):
    response = agent_client.post(
        LIST_URL, {"reference": other_case.reference, "title": "Mine"}, format="json"
    )
    assert response.status_code == 201


def test_delete(client_for, supervisor, case):
    response = client_for(supervisor).delete(case_url(case.pk))
    assert response.status_code == 204
    assert not Case.objects.filter(pk=case.pk).exists()
    assert client_for(supervisor).get(case_url(case.pk)).status_code == 404


# --- list ----------------------------------------------------------------------------------


def test_list_is_newest_first_in_the_page_envelope(agent_client, tenant, other_case):
    older = CaseFactory(tenant=tenant)
    newer = CaseFactory(tenant=tenant)
    Case.objects.filter(pk=older.pk).update(created_at=timezone.now() + timedelta(minutes=5))
    body = agent_client.get(LIST_URL).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 2
    assert [c["id"] for c in body["results"]] == [older.pk, newer.pk]


def test_same_created_at_orders_by_id_descending(agent_client, tenant):
    cases = CaseFactory.create_batch(3, tenant=tenant)
    Case.objects.filter(pk__in=[c.pk for c in cases]).update(created_at=timezone.now())
    body = agent_client.get(LIST_URL).json()
    assert [c["id"] for c in body["results"]] == sorted((c.pk for c in cases), reverse=True)


def test_pagination(agent_client, tenant):
    cases = CaseFactory.create_batch(5, tenant=tenant)
    newest_first = [c.pk for c in reversed(cases)]
    first = agent_client.get(f"{LIST_URL}?page_size=2").json()
    assert first["count"] == 5
    assert [c["id"] for c in first["results"]] == newest_first[:2]
    assert first["previous"] is None
    assert "page=2" in first["next"]
    last = agent_client.get(f"{LIST_URL}?page_size=2&page=3").json()
    assert [c["id"] for c in last["results"]] == newest_first[4:]
    assert last["next"] is None
    assert agent_client.get(f"{LIST_URL}?page=99").status_code == 404


def test_filters(agent_client, make_user, tenant, other_tenant):
    assignee = make_user(Role.AGENT)
    urgent = CaseFactory(tenant=tenant, priority="urgent", assignee=assignee)
    closed = CaseFactory(tenant=tenant, status="closed")
    plain = CaseFactory(tenant=tenant)
    CaseFactory(tenant=other_tenant, priority="urgent", status="closed")

    def ids(query):
        response = agent_client.get(f"{LIST_URL}?{query}")
        assert response.status_code == 200, response.content
        return {c["id"] for c in response.json()["results"]}

    assert ids("priority=urgent") == {urgent.pk}
    assert ids("status=closed") == {closed.pk}
    assert ids("status=open") == {urgent.pk, plain.pk}
    assert ids(f"assignee={assignee.pk}") == {urgent.pk}
    assert ids("status=open&priority=normal") == {plain.pk}
    assert ids("") == {urgent.pk, closed.pk, plain.pk}


def test_search_by_reference_or_title_ignoring_case(agent_client, tenant, other_tenant):
    by_reference = CaseFactory(tenant=tenant, reference="HL-7781", title="Noise complaint")
    by_title = CaseFactory(tenant=tenant, reference="HL-1", title="Needs SHELTER tonight")
    CaseFactory(tenant=tenant, reference="HL-2", title="Unrelated")
    CaseFactory(tenant=other_tenant, reference="HL-7781", title="shelter")

    def ids(term):
        body = agent_client.get(LIST_URL, {"search": term}).json()
        return {c["id"] for c in body["results"]}

    assert ids("hl-778") == {by_reference.pk}
    assert ids("shelter") == {by_title.pk}
    assert ids("  Shelter ") == {by_title.pk}
    assert ids("nothing like it") == set()
    assert len(ids("")) == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=pending", "status"),
        ("priority=OPEN", "priority"),
        ("assignee=abc", "assignee"),
        ("assignee=99999999999999999999", "assignee"),
        (f"search={'x' * 201}", "search"),
    ],
)
def test_bad_filters_are_400_naming_the_param(agent_client, query, field):
    response = agent_client.get(f"{LIST_URL}?{query}")
    assert response.status_code == 400
    assert field in response.json()


# --- validation ----------------------------------------------------------------------------

VALID = {"title": "Caller needs help"}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": None}, "title"),
        ({"title": "a\x00b"}, "title"),
        ({**VALID, "reference": ""}, "reference"),
        ({**VALID, "reference": "has space"}, "reference"),
        ({**VALID, "reference": "-leading"}, "reference"),
        ({**VALID, "reference": "R" * 65}, "reference"),
        ({**VALID, "description": "d" * 10001}, "description"),
        ({**VALID, "priority": "critical"}, "priority"),
        ({**VALID, "priority": "NORMAL"}, "priority"),
        ({**VALID, "assignee": "me"}, "assignee"),
        ({**VALID, "assignee": 2**63}, "assignee"),
        ({**VALID, "assignee": 987654321}, "assignee"),
        ({**VALID, "data": []}, "data"),
        ({**VALID, "data": "text"}, "data"),
        ({**VALID, "data": None}, "data"),
        ({**VALID, "data": {"note": "a\x00b"}}, "data"),
        ({**VALID, "data": {"blob": "x" * 70000}}, "data"),
    ],
)
def test_create_rules_answer_400_naming_the_field(agent_client, tenant, payload, field):
    response = agent_client.post(LIST_URL, payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Case.objects.for_tenant(tenant).exists()


@pytest.mark.parametrize(
    "raw",
    [
        '{"title": "x", "data": {"n": 1e400}}',
        '{"title": "x", "data": {"n": [1, -1e999]}}',
        '{"title": "x", "data": {"k": "\\ud800"}}',
        '{"title": "x", "data": {"\\udfff": 1}}',
        '{"title": "x", "data": {"k": NaN}}',
    ],
)
def test_data_postgres_cannot_store_is_400_not_500(agent_client, tenant, raw):
    response = agent_client.post(LIST_URL, raw, content_type="application/json")
    assert response.status_code == 400, response.content
    assert set(response.json()) <= {"data", "detail"}
    assert not Case.objects.for_tenant(tenant).exists()


def test_missing_assignee_has_drf_wording(agent_client, tenant):
    response = agent_client.post(LIST_URL, {**VALID, "assignee": 987654321}, format="json")
    assert response.json() == {"assignee": ['Invalid pk "987654321" - object does not exist.']}


def test_assignee_from_another_tenant_is_400_like_a_missing_one(agent_client, tenant, other_admin):
    response = agent_client.post(LIST_URL, {**VALID, "assignee": other_admin.pk}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "assignee": [f'Invalid pk "{other_admin.pk}" - object does not exist.']
    }
    assert not Case.objects.for_tenant(tenant).exists()


def test_inactive_assignee_is_400(agent_client, make_user, tenant):
    gone = make_user(Role.AGENT, is_active=False)
    response = agent_client.post(LIST_URL, {**VALID, "assignee": gone.pk}, format="json")
    assert response.status_code == 400
    assert response.json() == {"assignee": ["This user is inactive."]}


def test_duplicate_reference_on_create_is_400(agent_client, tenant, case):
    response = agent_client.post(LIST_URL, {**VALID, "reference": "CASE-A1"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"reference": ["A case with reference 'CASE-A1' already exists."]}
    assert Case.objects.for_tenant(tenant).count() == 1


def test_body_that_is_not_an_object_is_400(agent_client, tenant):
    response = agent_client.post(LIST_URL, [1, 2], format="json")
    assert response.status_code == 400
    response = agent_client.post(LIST_URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert not Case.objects.for_tenant(tenant).exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"status": "done"}, "status"),
        ({"status": None}, "status"),
        ({"priority": "asap"}, "priority"),
        ({"title": ""}, "title"),
        ({"reference": "no spaces allowed"}, "reference"),
        ({"assignee": 987654321}, "assignee"),
        ({"data": [1]}, "data"),
    ],
)
def test_update_rules_answer_400_and_change_nothing(agent_client, case, payload, field):
    before = Case.objects.values().get(pk=case.pk)
    response = agent_client.patch(case_url(case.pk), payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert Case.objects.values().get(pk=case.pk) == before


def test_patch_can_unassign(agent_client, make_user, tenant):
    assigned = CaseFactory(tenant=tenant, assignee=make_user(Role.AGENT))
    response = agent_client.patch(case_url(assigned.pk), {"assignee": None}, format="json")
    assert response.status_code == 200
    assigned.refresh_from_db()
    assert assigned.assignee is None
