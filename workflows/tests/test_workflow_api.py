"""CRUD of workflows and steps through the seed 1 paths, ordering, nesting and validation."""

import pytest

from accounts.models import Role
from tests.factories import SecurityGroupFactory, StepFactory, WorkflowFactory
from workflows.models import Step, Workflow

pytestmark = pytest.mark.django_db


def wf_url(tenant, pk=None):
    base = f"/api/tenants/{tenant.id}/workflows/"
    return base if pk is None else f"{base}{pk}/"


def step_url(workflow, pk=None):
    base = f"/api/workflows/{workflow.id}/steps/"
    return base if pk is None else f"{base}{pk}/"


def test_seed_curl_bodies_create_workflow_and_step(admin_client, tenant, admin):
    response = admin_client.post(
        wf_url(tenant),
        {"name": "Crisis Response", "description": "For survivor support"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Crisis Response"
    assert body["description"] == "For survivor support"
    assert body["is_active"] is True
    assert body["tenant"] == tenant.id
    assert body["created_by"] == admin.id
    assert body["steps"] == []
    workflow = Workflow.objects.get(pk=body["id"])
    assert workflow.tenant_id == tenant.id

    response = admin_client.post(
        step_url(workflow),
        {"name": "Assess Risk", "order": 1, "action": "check_safety"},
        format="json",
    )
    assert response.status_code == 201
    step = response.json()
    assert (step["name"], step["order"], step["action"], step["workflow"]) == (
        "Assess Risk",
        1,
        "check_safety",
        workflow.id,
    )
    assert Step.objects.get(pk=step["id"]).tenant_id == tenant.id


def test_workflow_detail_nests_steps_sorted_by_order(admin_client, tenant):
    workflow = WorkflowFactory(tenant=tenant)
    StepFactory(workflow=workflow, order=2, name="Third")
    StepFactory(workflow=workflow, order=0, name="First")
    StepFactory(workflow=workflow, order=1, name="Second")
    body = admin_client.get(wf_url(tenant, workflow.id)).json()
    assert [s["name"] for s in body["steps"]] == ["First", "Second", "Third"]
    steps = admin_client.get(step_url(workflow)).json()
    assert steps["count"] == 3
    assert [s["order"] for s in steps["results"]] == [0, 1, 2]


def test_workflow_list_is_paginated_ordered_and_filterable(admin_client, tenant, other_tenant):
    first = WorkflowFactory(tenant=tenant, name="Alpha", transfer_type="FAR")
    second = WorkflowFactory(tenant=tenant, name="Beta", is_active=False)
    WorkflowFactory(tenant=other_tenant, name="Not yours")
    body = admin_client.get(wf_url(tenant)).json()
    assert body["count"] == 2
    assert [w["id"] for w in body["results"]] == [first.id, second.id]
    assert admin_client.get(wf_url(tenant) + "?is_active=false").json()["count"] == 1
    assert (
        admin_client.get(wf_url(tenant) + "?transfer_type=FAR").json()["results"][0]["id"]
        == first.id
    )
    assert admin_client.get(wf_url(tenant) + "?search=bet").json()["results"][0]["id"] == second.id
    page = admin_client.get(wf_url(tenant) + "?page_size=1&page=2").json()
    assert [w["id"] for w in page["results"]] == [second.id]
    assert page["previous"] is not None


def test_workflow_put_patch_delete(admin_client, tenant):
    workflow = WorkflowFactory(tenant=tenant, name="Old")
    StepFactory(workflow=workflow)
    response = admin_client.put(
        wf_url(tenant, workflow.id),
        {"name": "New", "description": "d", "is_active": False},
        format="json",
    )
    assert response.status_code == 200
    workflow.refresh_from_db()
    assert (workflow.name, workflow.description, workflow.is_active) == ("New", "d", False)
    response = admin_client.patch(wf_url(tenant, workflow.id), {"code": "WF_1"}, format="json")
    assert response.status_code == 200
    assert response.json()["name"] == "New"
    assert response.json()["code"] == "WF_1"
    assert admin_client.delete(wf_url(tenant, workflow.id)).status_code == 204
    assert not Workflow.objects.filter(pk=workflow.pk).exists()
    assert not Step.objects.filter(workflow_id=workflow.pk).exists()
    assert admin_client.get(wf_url(tenant, workflow.id)).status_code == 404


def test_put_requires_name(admin_client, tenant):
    workflow = WorkflowFactory(tenant=tenant)
    response = admin_client.put(wf_url(tenant, workflow.id), {"description": "x"}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()


def test_step_get_put_patch_delete(admin_client, tenant):
    workflow = WorkflowFactory(tenant=tenant)
    step = StepFactory(workflow=workflow, order=0)
    assert admin_client.get(step_url(workflow, step.id)).json()["id"] == step.id
    response = admin_client.put(
        step_url(workflow, step.id),
        {"name": "Verify", "order": 3, "action": "verify_contact"},
        format="json",
    )
    assert response.status_code == 200
    step.refresh_from_db()
    assert (step.name, step.order, step.action) == ("Verify", 3, "verify_contact")
    response = admin_client.patch(step_url(workflow, step.id), {"name": "Renamed"}, format="json")
    assert response.status_code == 200
    assert response.json()["order"] == 3
    assert admin_client.delete(step_url(workflow, step.id)).status_code == 204
    assert not Step.objects.filter(pk=step.pk).exists()


def test_step_of_another_workflow_is_404(admin_client, tenant):
    workflow, other_workflow = WorkflowFactory(tenant=tenant), WorkflowFactory(tenant=tenant)
    step = StepFactory(workflow=other_workflow)
    assert admin_client.get(step_url(workflow, step.id)).status_code == 404


def test_step_config_is_validated_and_stored(admin_client, tenant):
    workflow = WorkflowFactory(tenant=tenant)
    config = {"approvers": {"role": "SUPERVISOR"}, "rule": "quorum", "quorum": 2}
    response = admin_client.post(
        step_url(workflow),
        {"name": "Approve", "order": 0, "action": "approval", "config": config},
        format="json",
    )
    assert response.status_code == 201, response.json()
    stored = Step.objects.get(pk=response.json()["id"]).config
    assert stored["approvers"] == {"role": "SUPERVISOR"}
    assert stored["quorum"] == 2
    assert stored["allow_self_approval"] is False


def test_action_registry_lists_builtins(admin_client):
    keys = {a["key"] for a in admin_client.get("/api/actions/").json()}
    assert {"send_email", "check_safety", "verify_contact", "approval", "webhook"} <= keys


BAD_WORKFLOWS = [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": ["a"]}, "name"),
    ({"name": "ok", "is_active": "maybe"}, "is_active"),
    ({"name": "ok", "description": {"a": 1}}, "description"),
    ({"name": "ok", "code": "has space"}, "code"),
    ({"name": "ok", "code": "c" * 65}, "code"),
]


@pytest.mark.parametrize(("payload", "field"), BAD_WORKFLOWS)
def test_bad_workflow_is_400_naming_the_field(admin_client, tenant, payload, field):
    response = admin_client.post(wf_url(tenant), payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Workflow.objects.exists()


BAD_STEPS = [
    ({"order": 0, "action": "check_safety"}, "name"),
    ({"name": "", "order": 0, "action": "check_safety"}, "name"),
    ({"name": "s", "order": -1, "action": "check_safety"}, "order"),
    ({"name": "s", "order": "first", "action": "check_safety"}, "order"),
    ({"name": "s", "order": 1.5, "action": "check_safety"}, "order"),
    ({"name": "s", "order": 0, "action": "teleport"}, "action"),
    ({"name": "s", "order": 0}, "action"),
    ({"name": "s", "order": 0, "action": "check_safety", "config": [1]}, "config"),
    ({"name": "s", "order": 0, "action": "check_safety", "config": {"x": 1}}, "config"),
    (
        {"name": "s", "order": 0, "action": "approval", "config": {"approvers": {"default": 0}}},
        "config",
    ),
    (
        {"name": "s", "order": 0, "action": "approval", "config": {"approvers": {"role": "KING"}}},
        "config",
    ),
    (
        {
            "name": "s",
            "order": 0,
            "action": "approval",
            "config": {"approvers": {"role": "ADMIN"}, "rule": "quorum"},
        },
        "config",
    ),
    ({"name": "s", "order": 0, "action": "webhook", "config": {"url": "ftp://x"}}, "config"),
    (
        {
            "name": "s",
            "order": 0,
            "action": "send_email",
            "config": {"to": {"emails": ["nope"]}, "subject": "s", "body": "b"},
        },
        "config",
    ),
]


@pytest.mark.parametrize(("payload", "field"), BAD_STEPS)
def test_bad_step_is_400_naming_the_field(admin_client, tenant, payload, field):
    workflow = WorkflowFactory(tenant=tenant)
    response = admin_client.post(step_url(workflow), payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Step.objects.exists()


def approval_to(approvers):
    return {"name": "s", "order": 0, "action": "approval", "config": {"approvers": approvers}}


def test_approvers_must_exist_in_the_tenant(admin_client, tenant, other_tenant, make_user):
    """A group or user that is not this tenant's would resolve to nobody when the step runs;
    say so when the step is defined."""
    workflow = WorkflowFactory(tenant=tenant)
    own_group = SecurityGroupFactory(tenant=tenant)
    foreign_group = SecurityGroupFactory(tenant=other_tenant)
    own_user = make_user(Role.SUPERVISOR)
    foreign_user = make_user(Role.SUPERVISOR, tenant=other_tenant)
    cases = [
        (approval_to({"security_group": foreign_group.pk}), ["approvers", "security_group"]),
        (approval_to({"security_group": 10**9}), ["approvers", "security_group"]),
        (approval_to({"users": [own_user.pk, foreign_user.pk]}), ["approvers", "users"]),
        (
            {
                "name": "s",
                "order": 0,
                "action": "send_email",
                "config": {"to": {"security_group": foreign_group.pk}, "subject": "s", "body": "b"},
            },
            ["to", "security_group"],
        ),
    ]
    for payload, path in cases:
        response = admin_client.post(step_url(workflow), payload, format="json")
        assert response.status_code == 400, payload
        errors = response.json()["config"]
        for key in path:
            errors = errors[key]
        assert "does not exist" in errors[0], errors
    assert not Step.objects.exists()
    for approvers in ({"security_group": own_group.pk}, {"users": [own_user.pk]}):
        response = admin_client.post(step_url(workflow), approval_to(approvers), format="json")
        assert response.status_code == 201, response.json()
        Step.objects.all().delete()


def test_approvers_are_checked_on_update_too(admin_client, tenant, other_tenant):
    workflow = WorkflowFactory(tenant=tenant)
    step = StepFactory(
        workflow=workflow, action="approval", config={"approvers": {"role": "SUPERVISOR"}}
    )
    foreign_group = SecurityGroupFactory(tenant=other_tenant)
    response = admin_client.patch(
        step_url(workflow, step.pk),
        {"config": {"approvers": {"security_group": foreign_group.pk}}},
        format="json",
    )
    assert response.status_code == 400
    step.refresh_from_db()
    assert step.config == {"approvers": {"role": "SUPERVISOR"}}


def test_unknown_action_error_lists_known_actions(admin_client, tenant):
    workflow = WorkflowFactory(tenant=tenant)
    response = admin_client.post(
        step_url(workflow), {"name": "s", "order": 0, "action": "teleport"}, format="json"
    )
    message = response.json()["action"][0]
    assert "teleport" in message
    assert "send_email" in message
    assert "webhook" in message


def test_duplicate_order_is_400(admin_client, tenant):
    workflow = WorkflowFactory(tenant=tenant)
    StepFactory(workflow=workflow, order=1)
    response = admin_client.post(
        step_url(workflow), {"name": "s", "order": 1, "action": "check_safety"}, format="json"
    )
    assert response.status_code == 400
    assert "order" in response.json()
    assert Step.objects.filter(workflow=workflow).count() == 1


def test_duplicate_code_is_400(admin_client, tenant, other_tenant):
    WorkflowFactory(tenant=tenant, code="FAR_WF_V1")
    WorkflowFactory(tenant=other_tenant, code="SAME")
    response = admin_client.post(wf_url(tenant), {"name": "n", "code": "FAR_WF_V1"}, format="json")
    assert response.status_code == 400
    assert "code" in response.json()
    # Codes are per tenant: another tenant's code is free here.
    assert (
        admin_client.post(wf_url(tenant), {"name": "n", "code": "SAME"}, format="json").status_code
        == 201
    )


@pytest.mark.parametrize("body", [b"{not json", b"[1,2", b"\xff\xfe"])
def test_malformed_json_is_400(admin_client, tenant, body):
    response = admin_client.generic("POST", wf_url(tenant), body, content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()


def test_body_that_is_not_an_object_is_400(admin_client, tenant):
    response = admin_client.post(wf_url(tenant), [1, 2], format="json")
    assert response.status_code == 400


@pytest.mark.parametrize("count", [1, 50])
def test_workflow_list_query_count_is_constant(
    admin_client, tenant, count, django_assert_num_queries
):
    for _ in range(count):
        workflow = WorkflowFactory(tenant=tenant)
        StepFactory(workflow=workflow, order=0)
        StepFactory(workflow=workflow, order=1)
    # user+tenant, savepoint, tenant context, count, page, steps prefetch, release
    with django_assert_num_queries(7):
        response = admin_client.get(wf_url(tenant) + "?page_size=100")
    assert response.json()["count"] == count


@pytest.mark.parametrize("count", [1, 50])
def test_step_list_query_count_is_constant(admin_client, tenant, count, django_assert_num_queries):
    workflow = WorkflowFactory(tenant=tenant)
    for order in range(count):
        StepFactory(workflow=workflow, order=order)
    # user+tenant, savepoint, tenant context, workflow, count, page, release
    with django_assert_num_queries(7):
        response = admin_client.get(step_url(workflow) + "?page_size=100")
    assert response.json()["count"] == count
