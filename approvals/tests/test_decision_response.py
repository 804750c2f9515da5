"""A decision answers with the transfer read in one query (`selectors.transfer_with_chain`),
exactly as the GET detail shows it, and joins the request's transaction without a savepoint.
The hand-written chain read (list, detail, commands) equals what the ORM reads (`orm_chains`,
the list's former three-query path, kept here as the oracle)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from approvals.tests.test_transfers import URL, Chain
from workflows.models import Step

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(tenant, make_user, client_for):
    return Chain(tenant, make_user, client_for)


def detail(client, transfer_id):
    response = client.get(f"{URL}{transfer_id}/")
    assert response.status_code == 200
    return response.json()["transfer"]


def test_every_command_answers_what_the_detail_shows(chain):
    created = chain.create("R-1")
    assert created.status_code == 201
    transfer_id = created.json()["transfer"]["id"]
    client = chain.approver_clients[1]
    assert created.json()["transfer"] == detail(client, transfer_id)
    for approver in (0, 1):  # two runs approved: decisions on several runs, the third active
        response = chain.approve(transfer_id, approver=approver, comment=f"by {approver}")
        assert response.status_code == 200, response.json()
        assert response.json()["transfer"] == detail(client, transfer_id)
    assert len([r for r in response.json()["transfer"]["chain"] if r["decisions"]]) == 2
    rejected = client.post(f"{URL}{transfer_id}/reject/", {"comment": "no"}, format="json")
    assert rejected.status_code == 200, rejected.json()
    body = rejected.json()["transfer"]
    assert body == detail(client, transfer_id)
    assert body["status"] == "rejected"
    assert body["finished_at"] is not None
    cancelled_id = chain.create("R-2").json()["transfer"]["id"]
    cancelled = chain.submitter_client.post(f"{URL}{cancelled_id}/cancel/", {}, format="json")
    assert cancelled.status_code == 200, cancelled.json()
    assert cancelled.json()["transfer"] == detail(client, cancelled_id)


def test_several_ballots_on_one_task_answer_what_the_detail_shows(tenant, make_user, client_for):
    """Rule `all`: both approvers decide the same task; the step stays active after the first."""
    chain = Chain(tenant, make_user, client_for, workflows=1)
    Step.objects.filter(workflow=chain.templates[0]).update(
        config={"approvers": {"security_group": chain.group.pk}, "rule": "all"}
    )
    transfer_id = chain.create("V-1").json()["transfer"]["id"]
    for approver in (0, 1):
        response = chain.approve(transfer_id, approver=approver)
        assert response.status_code == 200, response.json()
        assert response.json()["transfer"] == detail(chain.approver_clients[1], transfer_id)
    assert len(response.json()["transfer"]["chain"][0]["decisions"]) == 2


def test_an_http_approve_issues_no_savepoint_of_its_own(chain):
    """Statements of one approve: the user, the tenant context, the path's transfer, the
    decision's lock and write, the answer: 6. Savepoints: only the request's own (in a test the
    request's transaction is itself a savepoint of the test's; in production BEGIN/COMMIT)."""
    transfer_id = chain.create("S-1").json()["transfer"]["id"]
    with CaptureQueriesContext(connection) as captured:
        response = chain.approve(transfer_id)
    assert response.status_code == 200
    statements = [q["sql"] for q in captured.captured_queries]
    savepoints = [sql for sql in statements if "SAVEPOINT" in sql]
    assert len(savepoints) == 2, savepoints  # the request's SAVEPOINT and RELEASE
    assert len(statements) - len(savepoints) == 6, [sql[:60] for sql in statements]


def test_a_refused_decision_rolls_back_and_an_idempotent_retry_works(chain):
    """The service joined the request's transaction: its error rolls back the whole request,
    including the Idempotency-Key claim, so the same key may be used again."""
    transfer_id = chain.create("S-2").json()["transfer"]["id"]
    outsider = chain.client_for(chain.submitter)  # the creator: not an approver of this step
    headers = {"HTTP_IDEMPOTENCY_KEY": "k-1"}
    url = f"{URL}{transfer_id}/approve/"
    refused = outsider.post(url, {"comment": "self"}, format="json", **headers)
    assert refused.status_code in (403, 409, 422), refused.json()
    first = chain.approver_clients[0].post(url, {"comment": "ok"}, format="json", **headers)
    replay = chain.approver_clients[0].post(url, {"comment": "ok"}, format="json", **headers)
    assert first.status_code == replay.status_code == 200
    assert replay["Idempotent-Replayed"] == "true"
    assert first.json() == replay.json()


def orm_chains(tenant, ids):
    """Each transfer's chain read with the ORM: runs, their first active step, decided
    ballots in (decided_at, id) order."""
    from workflows.models import HumanTask, StepRun, StepRunStatus, TaskBallot, WorkflowRun

    chains = {pk: [] for pk in ids}
    for run in (
        WorkflowRun.objects.unscoped()
        .filter(tenant=tenant, subject_type="transfer", subject_id__in=ids)
        .order_by("subject_id", "sequence", "id")
    ):
        active = (
            StepRun.objects.unscoped()
            .filter(tenant=tenant, run=run)
            .filter(status__in=[StepRunStatus.WAITING, StepRunStatus.RUNNING])
            .order_by("position", "id")
            .first()
        )
        tasks = HumanTask.objects.unscoped().filter(
            tenant=tenant, subject_type="transfer", subject_id=run.subject_id, run=run
        )
        step_of = dict(tasks.values_list("id", "step_run_id"))
        decisions = [
            {
                "step": step_of[b.task_id],
                "decision": b.decision,
                "decided_by": b.acted_by_id or b.user_id,
                "on_behalf_of": b.user_id if b.acted_by_id else None,
                "decided_at": b.decided_at,
                "comment": b.comment,
            }
            for b in TaskBallot.objects.unscoped()
            .filter(tenant=tenant, task__in=list(step_of), decision__isnull=False)
            .order_by("decided_at", "id")
        ]
        chains[run.subject_id].append(
            {
                "id": run.pk,
                "execution_order": run.sequence,
                "workflow_template": run.workflow_id,
                "workflow_template_code": run.workflow_code,
                "workflow_template_name": run.workflow_name,
                "status": run.status,
                "started_at": run.started_at,
                "finished_at": run.finished_at,
                "current_step": (
                    {"id": active.pk, "name": active.name, "action": active.action}
                    if active
                    else None
                ),
                "decisions": decisions,
            }
        )
    return chains


def test_the_list_and_detail_read_what_the_orm_reads(tenant, make_user, client_for):
    """Transfers pending at each workflow, approved, rejected, cancelled, one decided by two
    approvers on one task (rule `all`), one by a delegate: the page (with filters) and each
    detail read the ORM's transfers and chains, newest first."""
    from approvals import selectors
    from approvals.models import Transfer

    chain = Chain(tenant, make_user, client_for)
    Step.objects.filter(workflow=chain.templates[1]).update(
        config={"approvers": {"security_group": chain.group.pk}, "rule": "all"}
    )
    ids = [chain.create(f"O-{n}").json()["transfer"]["id"] for n in range(6)]
    assert chain.approve(ids[1], approver=0).status_code == 200
    for approver in (0, 1):  # the second workflow: both decide, on one task
        assert chain.approve(ids[2], approver=approver).status_code == 200
    assert chain.approve(ids[2], approver=0).status_code == 200
    url = f"{URL}{ids[3]}/reject/"
    assert chain.approver_clients[0].post(url, {"comment": "no"}, format="json").status_code == 200
    cancel = chain.submitter_client.post(f"{URL}{ids[4]}/cancel/", {}, format="json")
    assert cancel.status_code == 200
    from workflows.models import TaskBallot

    assert chain.approve(ids[5], approver=0).status_code == 200
    decided = TaskBallot.objects.unscoped().filter(task__subject_id=ids[5], decision__isnull=False)
    assert decided.update(acted_by=chain.submitter) == 1  # as if a delegate had decided
    expected = orm_chains(tenant, ids)
    transfers = {
        t.pk: t
        for t in Transfer.objects.unscoped().filter(pk__in=ids).select_related("security_group")
    }
    for user, filters in (
        (chain.approvers[0], {}),
        (chain.approvers[1], {"awaiting_me": True}),
        (chain.submitter, {"mine": True, "status": "pending"}),
    ):
        listed = selectors.transfer_list(tenant=tenant, user=user, filters=filters)
        page = listed[0:50]
        assert listed.count() == len(page) > 0
        assert [t.pk for t, _ in page] == sorted(
            [t.pk for t, _ in page], key=lambda pk: (transfers[pk].created_at, pk), reverse=True
        )
        for transfer, read in page:
            assert read == expected[transfer.pk]
            assert transfer.security_group.name == transfers[transfer.pk].security_group.name
            original = transfers[transfer.pk]
            assert [getattr(transfer, f.attname) for f in Transfer._meta.concrete_fields] == [
                getattr(original, f.attname) for f in Transfer._meta.concrete_fields
            ]
    for pk in ids:
        transfer, read = selectors.transfer_with_chain(tenant=tenant, transfer_id=pk)
        assert read == expected[pk]
    assert any(len(item["decisions"]) == 2 for item in expected[ids[2]])
    assert any(d["on_behalf_of"] for item in expected[ids[5]] for d in item["decisions"])


def test_the_chain_is_rendered_as_its_serializer_documents_it(chain):
    """render_chain (the fast path every transfer answer uses) equals ChainItemSerializer,
    which the OpenAPI schema shows: decisions on two runs, an active step, a run not started
    (null timestamps and step), a delegate's decision (on_behalf_of)."""
    from approvals import selectors
    from approvals.api.views.transfers import ChainItemSerializer, render_chain

    transfer_id = chain.create("S-1").json()["transfer"]["id"]
    for approver in (0, 1):
        assert chain.approve(transfer_id, approver=approver, comment="ok").status_code == 200
    _, items = selectors.transfer_with_chain(tenant=chain.tenant, transfer_id=transfer_id)
    items[0]["decisions"][0]["on_behalf_of"] = items[0]["decisions"][0]["decided_by"]
    items.append({**items[-1], "id": 0, "started_at": None, "finished_at": None})
    items[-1].update(current_step=None, decisions=[], workflow_template_code=None)
    rendered = render_chain(items)
    assert rendered == ChainItemSerializer(items, many=True).data
    assert [list(item) for item in rendered] == [list(ChainItemSerializer().fields)] * len(items)
    assert isinstance(rendered[0]["decisions"][0]["decided_at"], str)
    assert rendered[-2]["current_step"] is not None


def test_transfers_are_rendered_as_their_serializer_documents_them(chain):
    """render_transfers (every transfer answer: list, detail, commands) equals
    TransferSerializer(many=True): pending, approved-through-a-run and finished transfers,
    with chains, a description and a payload; also in another time zone (the writer reads
    the current one once per response)."""
    from django.utils import timezone

    from approvals import selectors
    from approvals.api.views.transfers import TransferSerializer, render_transfers
    from approvals.models import Transfer

    ids = [chain.create(f"T-{n}").json()["transfer"]["id"] for n in range(3)]
    assert chain.approve(ids[1], approver=0).status_code == 200
    chain.approver_clients[1].post(f"{URL}{ids[2]}/reject/", {"comment": "no"}, format="json")
    Transfer.objects.unscoped().filter(pk=ids[0]).update(description="d", payload={"k": [1]})
    transfers = list(
        Transfer.objects.unscoped().filter(pk__in=ids).select_related("security_group")
    )
    chains = {
        pk: selectors.transfer_with_chain(tenant=chain.tenant, transfer_id=pk)[1] for pk in ids
    }
    expected = TransferSerializer(transfers, many=True, context={"chains": chains}).data
    assert render_transfers(transfers, chains) == expected
    assert {t["status"] for t in expected} == {"pending", "rejected"}
    with timezone.override("Asia/Kolkata"):
        shifted = TransferSerializer(transfers, many=True, context={"chains": chains}).data
        assert render_transfers(transfers, chains) == shifted
    assert shifted[0]["created_at"].endswith("+05:30")
