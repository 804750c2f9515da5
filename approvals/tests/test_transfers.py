"""Transfers and their sequential chains (seed 2's "Sequential Execution"), over HTTP."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from approvals.models import Transfer, WorkflowAssignment
from tests.factories import (
    SecurityGroupFactory,
    SecurityGroupMemberFactory,
    StepFactory,
    WorkflowAssignmentFactory,
    WorkflowTemplateFactory,
)
from workflows.models import HumanTask, RunStatus, Step, StepRun, TaskStatus, WorkflowRun

pytestmark = pytest.mark.django_db
URL = "/api/approvals/transfers/"


class Chain:
    """Finance Team: a submitter and two approvers; three FAR workflows, one approval each."""

    def __init__(self, tenant, make_user, client_for, *, workflows=3, rule_config=None):
        self.tenant = tenant
        self.group = SecurityGroupFactory(tenant=tenant, name="Finance Team")
        self.submitter = make_user(Role.AGENT, tenant=tenant)
        self.approvers = [make_user(Role.SUPERVISOR, tenant=tenant) for _ in range(2)]
        for user in [self.submitter, *self.approvers]:
            SecurityGroupMemberFactory(security_group=self.group, user=user)
        self.templates = []
        for index in range(workflows):
            template = WorkflowTemplateFactory(
                tenant=tenant,
                name=f"FAR step {index + 1}",
                code=f"FAR_{index + 1}",
                transfer_type="FAR",
            )
            StepFactory(
                workflow=template,
                order=0,
                action="approval",
                name=f"Approve {index + 1}",
                config=rule_config or {"approvers": {"security_group": self.group.pk}},
            )
            WorkflowAssignmentFactory(
                security_group=self.group, workflow_template=template, execution_order=index + 1
            )
            self.templates.append(template)
        self.client_for = client_for
        self.submitter_client = client_for(self.submitter)
        self.approver_clients = [client_for(u) for u in self.approvers]

    def create(self, reference="T-1", **extra):
        body = {
            "security_group": self.group.pk,
            "transfer_type": "FAR",
            "reference": reference,
            "amount": "1250.50",
            "currency": "usd",
            **extra,
        }
        return self.submitter_client.post(URL, body, format="json")

    def approve(self, transfer_id, approver=0, comment="ok"):
        return self.approver_clients[approver].post(
            f"{URL}{transfer_id}/approve/", {"comment": comment}, format="json"
        )


@pytest.fixture
def chain(tenant, make_user, client_for):
    return Chain(tenant, make_user, client_for)


def test_create_transfer_starts_only_the_first_workflow(chain):
    response = chain.create()
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["success"] is True
    transfer = body["transfer"]
    assert transfer["status"] == "pending"
    assert transfer["amount"] == "1250.50"
    assert transfer["currency"] == "USD"
    assert transfer["security_group_name"] == "Finance Team"
    assert transfer["created_by"] == chain.submitter.pk
    assert [c["execution_order"] for c in transfer["chain"]] == [1, 2, 3]
    assert [c["status"] for c in transfer["chain"]] == ["running", "not_started", "not_started"]
    assert [c["workflow_template_code"] for c in transfer["chain"]] == ["FAR_1", "FAR_2", "FAR_3"]
    first, second = transfer["chain"][0], transfer["chain"][1]
    assert first["current_step"]["name"] == "Approve 1"
    assert first["current_step"]["action"] == "approval"
    assert first["started_at"] is not None
    assert second["started_at"] is None
    assert second["current_step"] is None
    assert set(first) == {
        "id",
        "execution_order",
        "workflow_template",
        "workflow_template_code",
        "workflow_template_name",
        "status",
        "started_at",
        "finished_at",
        "current_step",
        "decisions",
    }


def test_each_completion_auto_starts_the_next_and_the_last_approves(chain):
    transfer_id = chain.create().json()["transfer"]["id"]
    expected = [
        ["completed", "running", "not_started"],
        ["completed", "completed", "running"],
        ["completed", "completed", "completed"],
    ]
    for index in range(3):
        response = chain.approve(transfer_id, approver=index % 2, comment=f"ok {index}")
        assert response.status_code == 200, response.json()
        assert [c["status"] for c in response.json()["transfer"]["chain"]] == expected[index]
    body = response.json()
    assert body["success"] is True
    assert body["message"] == 'Transfer "T-1" approved'
    assert body["transfer"]["status"] == "approved"
    assert body["transfer"]["finished_at"] is not None
    decisions = [c["decisions"] for c in body["transfer"]["chain"]]
    assert [d[0]["comment"] for d in decisions] == ["ok 0", "ok 1", "ok 2"]
    assert decisions[0][0]["decided_by"] == chain.approvers[0].pk
    assert decisions[0][0]["decision"] == "approve"
    runs = WorkflowRun.objects.filter(subject_type="transfer", subject_id=transfer_id)
    started = [r.started_at for r in runs.order_by("sequence")]
    assert started == sorted(started)


def test_rejection_in_second_workflow_never_starts_third(chain):
    transfer_id = chain.create().json()["transfer"]["id"]
    assert chain.approve(transfer_id).status_code == 200
    response = chain.approver_clients[1].post(
        f"{URL}{transfer_id}/reject/", {"comment": "amount looks wrong"}, format="json"
    )
    assert response.status_code == 200
    transfer = response.json()["transfer"]
    assert transfer["status"] == "rejected"
    assert [c["status"] for c in transfer["chain"]] == ["completed", "rejected", "not_started"]
    third = WorkflowRun.objects.get(subject_type="transfer", subject_id=transfer_id, sequence=3)
    assert third.started_at is None
    assert not HumanTask.objects.filter(run=third).exists()
    assert chain.approve(transfer_id).status_code == 409


def test_reject_requires_a_comment(chain):
    transfer_id = chain.create().json()["transfer"]["id"]
    response = chain.approver_clients[0].post(f"{URL}{transfer_id}/reject/", {}, format="json")
    assert response.status_code == 400
    assert response.json() == {"success": False, "errors": {"comment": ["This field is required."]}}


def test_submitter_cannot_approve_own_transfer(chain):
    transfer_id = chain.create().json()["transfer"]["id"]
    response = chain.submitter_client.post(f"{URL}{transfer_id}/approve/", {}, format="json")
    assert response.status_code == 403
    assert response.json()["success"] is False
    assert "own" in response.json()["errors"]["detail"]


def test_ineligible_user_gets_403_and_nothing_changes(chain, make_user, client_for):
    outsider = client_for(make_user(Role.SUPERVISOR))
    transfer_id = chain.create().json()["transfer"]["id"]
    response = outsider.post(f"{URL}{transfer_id}/approve/", {}, format="json")
    assert response.status_code == 403
    assert HumanTask.objects.filter(subject_id=transfer_id, status="pending").count() == 1


def test_double_decision_is_409(chain):
    transfer_id = chain.create().json()["transfer"]["id"]
    chain.approve(transfer_id, approver=0)
    chain.approve(transfer_id, approver=0)
    chain.approve(transfer_id, approver=1)
    response = chain.approve(transfer_id, approver=0)
    assert response.status_code == 409
    assert response.json()["success"] is False


def test_all_rule_needs_both_approvers(tenant, make_user, client_for):
    chain = Chain(tenant, make_user, client_for, workflows=1, rule_config=None)
    Step.objects.filter(workflow=chain.templates[0]).update(
        config={"approvers": {"security_group": chain.group.pk}, "rule": "all"}
    )
    transfer_id = chain.create().json()["transfer"]["id"]
    first = chain.approve(transfer_id, approver=0)
    assert first.json()["transfer"]["status"] == "pending"
    assert "still pending" in first.json()["message"]
    second = chain.approve(transfer_id, approver=1)
    assert second.json()["transfer"]["status"] == "approved"


def test_cancel_by_creator_stops_the_chain(chain):
    transfer_id = chain.create().json()["transfer"]["id"]
    response = chain.submitter_client.post(
        f"{URL}{transfer_id}/cancel/", {"comment": "dup"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == 'Transfer "T-1" cancelled'
    assert body["transfer"]["status"] == "cancelled"
    # The later runs will never start: cancelled with it, in their history.
    assert [c["status"] for c in body["transfer"]["chain"]] == ["cancelled"] * 3
    assert HumanTask.objects.get(subject_id=transfer_id).status == TaskStatus.CANCELLED
    assert chain.approve(transfer_id).status_code == 409
    again = chain.submitter_client.post(f"{URL}{transfer_id}/cancel/", {}, format="json")
    assert again.status_code == 409


def test_no_active_assignment_for_type_is_400(chain):
    response = chain.create(transfer_type="WIRE")
    assert response.status_code == 400
    assert "transfer_type" in response.json()["errors"]
    assert not Transfer.objects.exists()


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"currency": "DOLLARS"}, "currency"),
        ({"reference": ""}, "reference"),
        ({"reference": "x" * 65}, "reference"),
        ({"transfer_type": "has space"}, "transfer_type"),
        ({"security_group": "one"}, "security_group"),
        ({"security_group": 999999}, "security_group"),
        ({"payload": [1]}, "payload"),
    ],
)
def test_bad_transfer_is_400_naming_the_field(chain, patch, field):
    response = chain.create(**patch)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Transfer.objects.exists()


def test_payload_keeps_numbers_beyond_64_bits(chain):
    # JSON has no integer limit; the hot path's encoder (orjson) stops at 64 bits.
    payload = {"account": 2**70, "rate": 0.5, "note": "ünïcode", "nested": [{"n": -(2**64)}]}
    response = chain.create(payload=payload)
    assert response.status_code == 201, response.json()
    assert Transfer.objects.get().payload == payload


def test_duplicate_reference_is_400(chain):
    assert chain.create().status_code == 201
    response = chain.create()
    assert response.status_code == 400
    assert "reference" in response.json()["errors"]


def test_in_flight_chain_keeps_its_snapshot(chain, make_user):
    transfer_id = chain.create().json()["transfer"]["id"]
    # Mid-chain: swap the order of workflows 2 and 3 and rename the step of workflow 2.
    a2 = WorkflowAssignment.objects.get(security_group=chain.group, execution_order=2)
    a3 = WorkflowAssignment.objects.get(security_group=chain.group, execution_order=3)
    admin_client = chain.client_for(make_user(Role.ADMIN))
    reorder = admin_client.put(
        "/api/approvals/workflow-assignments/reorder/",
        {
            "security_group_id": chain.group.pk,
            "assignment_orders": [
                {"assignment_id": a2.pk, "execution_order": 3},
                {"assignment_id": a3.pk, "execution_order": 2},
            ],
        },
        format="json",
    )
    assert reorder.status_code == 200, reorder.json()
    Step.objects.filter(workflow=chain.templates[1]).update(name="Edited")
    chain.approve(transfer_id)
    body = chain.approve(transfer_id, approver=1).json()["transfer"]
    assert [c["workflow_template_code"] for c in body["chain"]] == ["FAR_1", "FAR_2", "FAR_3"]
    assert body["chain"][2]["current_step"]["name"] == "Approve 3"
    assert StepRun.objects.filter(run_id=body["chain"][1]["id"]).get().name == "Approve 2"
    new = chain.create(reference="T-2").json()["transfer"]
    assert [c["workflow_template_code"] for c in new["chain"]] == ["FAR_1", "FAR_3", "FAR_2"]


def test_list_filters_and_envelope(chain, make_user, client_for):
    first = chain.create("T-1").json()["transfer"]["id"]
    second = chain.create("T-2").json()["transfer"]["id"]
    client = chain.approver_clients[0]
    client.post(f"{URL}{second}/reject/", {"comment": "no"}, format="json")
    body = client.get(URL).json()
    assert body["success"] is True
    assert body["count"] == 2
    assert set(body) == {"success", "count", "next", "previous", "transfers"}
    assert [t["id"] for t in body["transfers"]] == [second, first]
    assert [t["id"] for t in client.get(URL + "?awaiting_me=true").json()["transfers"]] == [first]
    mine = chain.submitter_client.get(URL + "?mine=true").json()
    assert mine["count"] == 2
    assert client.get(URL + "?mine=true").json()["count"] == 0
    assert [t["id"] for t in client.get(URL + "?status=rejected").json()["transfers"]] == [second]
    assert client.get(URL + "?transfer_type=WIRE").json()["count"] == 0
    assert client.get(URL + f"?security_group={chain.group.pk}").json()["count"] == 2
    bad = client.get(URL + "?status=maybe")
    assert bad.status_code == 400
    assert "status" in bad.json()["errors"]


def test_other_tenants_transfers_are_invisible(chain, other_tenant, make_user, client_for):
    other = Chain(other_tenant, make_user, client_for, workflows=1)
    other_id = other.create("OT-1").json()["transfer"]["id"]
    client = chain.approver_clients[0]
    assert client.get(URL).json()["count"] == 0
    for method, url in (
        ("get", f"{URL}{other_id}/"),
        ("post", f"{URL}{other_id}/approve/"),
        ("post", f"{URL}{other_id}/cancel/"),
    ):
        response = getattr(client, method)(url, {"comment": "x"}, format="json")
        assert response.status_code == 404
        assert response.json() == {"success": False, "errors": {"detail": "Not found."}}
    response = chain.create(security_group=other.group.pk)
    assert response.status_code == 400
    assert "security_group" in response.json()["errors"]
    assert Transfer.objects.get(pk=other_id).status == "pending"


def test_no_token_is_401_in_envelope():
    response = APIClient().get(URL)
    assert response.status_code == 401
    assert response.json()["success"] is False


def test_viewer_cannot_create(chain, make_user, client_for):
    viewer = make_user(Role.VIEWER)
    SecurityGroupMemberFactory(security_group=chain.group, user=viewer)
    response = client_for(viewer).post(
        URL,
        {"transfer_type": "FAR", "reference": "V", "amount": "1", "currency": "EUR"},
        format="json",
    )
    assert response.status_code == 403


def test_idempotent_create(chain):
    headers = {"HTTP_IDEMPOTENCY_KEY": "create-1"}
    body = {
        "security_group": chain.group.pk,
        "transfer_type": "FAR",
        "reference": "I-1",
        "amount": "10.00",
        "currency": "EUR",
    }
    first = chain.submitter_client.post(URL, body, format="json", **headers)
    replay = chain.submitter_client.post(URL, body, format="json", **headers)
    assert first.status_code == replay.status_code == 201
    assert first.json() == replay.json()
    assert Transfer.objects.count() == 1
    other = chain.submitter_client.post(URL, {**body, "amount": "11.00"}, format="json", **headers)
    assert other.status_code == 422
    assert other.json()["success"] is False


@pytest.mark.parametrize("count", [1, 15])
def test_list_and_detail_query_counts_are_constant(chain, count, django_assert_num_queries):
    ids = [chain.create(f"Q-{i}").json()["transfer"]["id"] for i in range(count)]
    for transfer_id in ids:
        chain.approve(transfer_id)
    client = chain.approver_clients[1]
    # user+tenant, (savepoint, tenant context), count, the page with its chains, (release)
    with django_assert_num_queries(6):
        body = client.get(URL + "?page_size=50").json()
    assert body["count"] == count
    # user+tenant, (savepoint, tenant context), the transfer with its chain, (release)
    with django_assert_num_queries(5):
        assert client.get(f"{URL}{ids[0]}/").json()["transfer"]["id"] == ids[0]


def test_amount_is_stored_exactly(chain):
    transfer_id = chain.create(amount="1234567890123456.78").json()["transfer"]["id"]
    assert Transfer.objects.get(pk=transfer_id).amount == Decimal("1234567890123456.78")
    assert WorkflowRun.objects.filter(subject_id=transfer_id, status=RunStatus.RUNNING).count() == 1


@pytest.mark.parametrize("workflows", [1, 3])
def test_engine_statement_budget_per_transfer(tenant, make_user, client_for, workflows):
    """The hot path, through the service layer (what `make bench` measures): creating a
    transfer takes 3 statements (the plan; transfer with runs and step runs; the first task
    with its ballots and the transition log), each decision 2 (the lock, which also reads what
    comes next; everything it changes), however long the chain."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from approvals.services.transfers import transfer_create, transfer_decide

    chain = Chain(tenant, make_user, client_for, workflows=workflows)
    with CaptureQueriesContext(connection) as create:
        transfer = transfer_create(
            tenant=tenant,
            transfer_type="FAR",
            reference="BUDGET-1",
            amount=Decimal("10.00"),
            currency="EUR",
            security_group_id=chain.group.pk,
            actor=chain.submitter,
        )
    # (In a test the service's transaction is a savepoint: SAVEPOINT and RELEASE besides.)
    assert len(_work(create)) == 3, [q["sql"][:80] for q in create.captured_queries]
    for step in range(workflows):
        with CaptureQueriesContext(connection) as decide:
            transfer_decide(
                tenant=tenant, transfer_id=transfer.pk, decision="approve", actor=chain.approvers[0]
            )
        assert len(_work(decide)) == 2, (step, [q["sql"][:80] for q in decide.captured_queries])
    transfer.refresh_from_db()
    assert transfer.status == "approved"
    assert (
        list(WorkflowRun.objects.filter(subject_id=transfer.pk).values_list("status", flat=True))
        == [RunStatus.COMPLETED] * workflows
    )


def _work(captured):
    return [q for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]


def test_a_workflow_without_steps_completes_at_once_and_the_chain_moves_on(chain):
    """The chain advances without a task lock too (here on creation): the next run is found
    and started by its own statement."""
    Step.objects.filter(workflow=chain.templates[0]).delete()
    Step.objects.filter(workflow=chain.templates[1]).delete()
    response = chain.create("EMPTY-1")
    assert response.status_code == 201, response.json()
    transfer_id = response.json()["transfer"]["id"]
    statuses = list(
        WorkflowRun.objects.filter(subject_id=transfer_id)
        .order_by("sequence")
        .values_list("status", flat=True)
    )
    assert statuses == [RunStatus.COMPLETED, RunStatus.COMPLETED, RunStatus.RUNNING]
    assert chain.approve(transfer_id).status_code == 200
    assert Transfer.objects.get(pk=transfer_id).status == "approved"


def test_a_workflow_without_steps_mid_chain_completes_when_reached(chain):
    """Reached by a decision (the next run read with the task's lock): it starts and completes
    in that decision, and the chain moves on to the run after it."""
    Step.objects.filter(workflow=chain.templates[1]).delete()
    transfer_id = chain.create("EMPTY-2").json()["transfer"]["id"]
    assert chain.approve(transfer_id).status_code == 200
    statuses = list(
        WorkflowRun.objects.filter(subject_id=transfer_id)
        .order_by("sequence")
        .values_list("status", flat=True)
    )
    assert statuses == [RunStatus.COMPLETED, RunStatus.COMPLETED, RunStatus.RUNNING]
    run = WorkflowRun.objects.get(subject_id=transfer_id, sequence=2)
    assert run.started_at is not None
    assert run.finished_at is not None
    assert chain.approve(transfer_id).status_code == 200
    assert Transfer.objects.get(pk=transfer_id).status == "approved"


def test_a_taken_reference_is_recognised_on_both_databases():
    """`is_reference_taken` reads PostgreSQL's error (test_duplicate_reference_is_400) and
    SQLite's, as sqlite3 really words it: on `make run` a duplicate was a 500."""
    import sqlite3

    from django.db import IntegrityError

    from approvals.services.transfers import is_reference_taken

    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE TABLE approvals_transfer (tenant_id int, reference text, "
        "CONSTRAINT transfer_reference_unique_per_tenant UNIQUE (tenant_id, reference))"
    )
    db.execute("INSERT INTO approvals_transfer VALUES (1, 'R-1')")
    with pytest.raises(sqlite3.IntegrityError) as refused:
        db.execute("INSERT INTO approvals_transfer VALUES (1, 'R-1')")
    assert is_reference_taken(IntegrityError(*refused.value.args))
    db.execute("CREATE TABLE other (tenant_id int, reference text, UNIQUE (tenant_id, reference))")
    db.execute("INSERT INTO other VALUES (1, 'R-1')")
    with pytest.raises(sqlite3.IntegrityError) as elsewhere:
        db.execute("INSERT INTO other VALUES (1, 'R-1')")
    assert not is_reference_taken(IntegrityError(*elsewhere.value.args))


def test_a_decision_that_finds_nothing_to_decide_says_why(chain, tenant, make_user, client_for):
    transfer_id = chain.create().json()["transfer"]["id"]
    outsider = client_for(make_user(Role.SUPERVISOR, tenant=tenant))  # holds no ballot
    assert outsider.post(f"{URL}{transfer_id}/approve/", {}, format="json").status_code == 403
    for approver in (0, 0, 1):
        assert chain.approve(transfer_id, approver=approver).status_code == 200
    late = chain.approve(transfer_id, approver=1)
    assert late.status_code == 409
    assert late.json()["errors"]["detail"] == "This transfer is already approved."
    assert Transfer.objects.get(pk=transfer_id).status == "approved"
    missing = chain.approve(transfer_id + 1000)
    assert missing.status_code == 404


def test_without_a_group_the_transfer_goes_to_the_submitters_only_active_group(
    chain, tenant, make_user
):
    body = {"transfer_type": "FAR", "reference": "D-1", "amount": "5.00", "currency": "EUR"}
    made = chain.submitter_client.post(URL, body, format="json")
    assert made.status_code == 201, made.json()
    assert made.json()["transfer"]["security_group"] == chain.group.pk
    inactive = SecurityGroupFactory(tenant=tenant, name="Old team", is_active=False)
    SecurityGroupMemberFactory(security_group=inactive, user=chain.submitter)
    again = chain.submitter_client.post(URL, {**body, "reference": "D-2"}, format="json")
    assert again.status_code == 201, again.json()  # an inactive group does not count
    second = SecurityGroupFactory(tenant=tenant, name="Treasury")
    SecurityGroupMemberFactory(security_group=second, user=chain.submitter)
    several = chain.submitter_client.post(URL, {**body, "reference": "D-3"}, format="json")
    assert several.status_code == 400
    assert several.json()["errors"]["security_group"] == [
        "Required: you belong to several active security groups."
    ]
    outsider = chain.client_for(make_user(Role.AGENT, tenant=tenant))
    none = outsider.post(URL, {**body, "reference": "D-4"}, format="json")
    assert none.status_code == 400
    assert none.json()["errors"]["security_group"] == [
        "Required: you belong to no active security groups."
    ]
    assert set(Transfer.objects.values_list("reference", flat=True)) == {"D-1", "D-2"}
