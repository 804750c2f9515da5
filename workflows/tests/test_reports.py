"""`/api/reports/...` on data built here, figures asserted exactly.

Expected medians and 90th percentiles are computed with `statistics` from the durations the
test chose (`quantiles(..., method="inclusive")` interpolates as PostgreSQL's
`percentile_cont` does), never from the code under test.
"""

import statistics
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from tests.factories import StepFactory, WorkflowFactory
from workflows import reports, services
from workflows.models import HumanTask, TaskBallot
from workflows.tests.engine_helpers import approval_workflow, open_task, start

pytestmark = pytest.mark.django_db

BASE = datetime(2026, 3, 2, 10, tzinfo=UTC)  # a Monday; run i opens on day i
# Workflow "Finance": step 0 (alice or bob), step 1 (carol); run 4 waits at step 1.
STEP0 = [60, 120, 180, 240, 3600]
STEP0_BY = ["alice", "alice", "bob", "bob", "alice"]
STEP1 = [30, 90, 150, 7200]
STEP1_DECISIONS = ["approve", "approve", "reject", "approve"]
# Workflow "Intake": a form step completed by dave.
FORM = [10, 20, 40]


def rounded(value):
    """Floats to 6 decimals: interpolation in floating point differs in the last digit."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def median(values):
    return statistics.median(values)


def p90(values):
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def _decide(tenant, task, user, decision, seconds, opened):
    data = {"risk_level": "low"} if decision == "complete" else None
    services.task_decide(
        tenant=tenant,
        task_id=task.pk,
        decision=decision,
        comment="reason" if decision == "reject" else "",
        data=data,
        actor=user,
    )
    decided = opened + timedelta(seconds=seconds)
    HumanTask.objects.filter(pk=task.pk).update(created_at=opened, decided_at=decided)
    TaskBallot.objects.filter(task=task, user=user).update(decided_at=decided)


@pytest.fixture
def world(tenant, make_user, other_tenant):
    people = {
        name: make_user(Role.SUPERVISOR, full_name=name.title(), email=f"{name}@r.test")
        for name in ("alice", "bob", "carol")
    }
    people["dave"] = make_user(Role.AGENT, full_name="Dave", email="dave@r.test")
    finance = approval_workflow(
        tenant,
        {"approvers": {"users": [people["alice"].pk, people["bob"].pk]}},
        {"approvers": {"users": [people["carol"].pk]}},
        name="Finance",
    )
    for index, seconds in enumerate(STEP0):
        opened = BASE + timedelta(days=index)
        run = start(tenant, finance, subject_id=100 + index)
        _decide(tenant, open_task(run), people[STEP0_BY[index]], "approve", seconds, opened)
        second = open_task(run)
        if index < len(STEP1):
            _decide(tenant, second, people["carol"], STEP1_DECISIONS[index], STEP1[index], opened)
        else:
            waiting = second
    intake = WorkflowFactory(tenant=tenant, name="Intake")
    StepFactory(workflow=intake, order=0, action="check_safety", name="Assess risk")
    for index, seconds in enumerate(FORM):
        run = start(tenant, intake, subject_id=200 + index)
        _decide(tenant, open_task(run), people["dave"], "complete", seconds, BASE)
    # Pending form tasks: one overdue, one due later, one cancelled with its run.
    overdue_form = open_task(start(tenant, intake, subject_id=300))
    later = open_task(start(tenant, intake, subject_id=301))
    cancelled_run = start(tenant, intake, subject_id=302)
    services.run_cancel(tenant=tenant, run_id=cancelled_run.pk, actor=people["alice"])
    now = timezone.now()
    HumanTask.objects.filter(pk=waiting.pk).update(due_at=now - timedelta(hours=2))
    HumanTask.objects.filter(pk=overdue_form.pk).update(due_at=now - timedelta(minutes=30))
    HumanTask.objects.filter(pk=later.pk).update(due_at=now + timedelta(hours=1))
    # Another tenant's decided and overdue work: never counted here.
    stranger = make_user(Role.SUPERVISOR, tenant=other_tenant)
    theirs = approval_workflow(other_tenant, {"approvers": {"users": [stranger.pk]}})
    run = start(other_tenant, theirs)
    _decide(other_tenant, open_task(run), stranger, "approve", 5, BASE)
    theirs_pending = open_task(start(other_tenant, theirs, subject_id=2))
    HumanTask.objects.filter(pk=theirs_pending.pk).update(due_at=now - timedelta(days=1))
    return SimpleNamespace(
        people=people,
        finance=finance,
        intake=intake,
        waiting=waiting,
        overdue_form=overdue_form,
    )


@pytest.fixture
def supervisor_client(make_user, client_for):
    return client_for(make_user(Role.SUPERVISOR))


def figures(values):
    return {"count": len(values), "median_seconds": median(values), "p90_seconds": p90(values)}


def test_cycle_times_per_workflow_and_step(world, supervisor_client):
    response = supervisor_client.get("/api/reports/cycle-times/")
    assert response.status_code == 200, response.content
    assert rounded(response.json()) == rounded(
        {
            "workflows": [
                {
                    "workflow": world.finance.pk,
                    "workflow_name": "Finance",
                    **figures(STEP0 + STEP1),
                    "steps": [
                        {"position": 0, "name": "Approve 0", **figures(STEP0)},
                        {"position": 1, "name": "Approve 1", **figures(STEP1)},
                    ],
                },
                {
                    "workflow": world.intake.pk,
                    "workflow_name": "Intake",
                    **figures(FORM),
                    "steps": [{"position": 0, "name": "Assess risk", **figures(FORM)}],
                },
            ]
        }
    )


def test_cycle_times_filters(world, supervisor_client):
    # Days 2026-03-03 and 2026-03-04: runs 1 and 2 of Finance (the form tasks were on day 0).
    response = supervisor_client.get(
        "/api/reports/cycle-times/", {"from": "2026-03-03", "to": "2026-03-04"}
    )
    (finance,) = response.json()["workflows"]
    assert finance["count"] == 4
    assert [s["count"] for s in finance["steps"]] == [2, 2]
    assert finance["median_seconds"] == median([120, 180, 90, 150])
    by_workflow = supervisor_client.get(
        "/api/reports/cycle-times/", {"workflow": world.intake.pk}
    ).json()["workflows"]
    assert [(w["workflow"], w["count"]) for w in by_workflow] == [(world.intake.pk, 3)]
    nothing = supervisor_client.get("/api/reports/cycle-times/", {"to": "2026-03-01"})
    assert nothing.json() == {"workflows": []}


def test_cycle_times_is_one_statement_with_percentile_cont(world, admin_client):
    admin_client.get("/api/reports/cycle-times/")  # warm up: token user, caches
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get("/api/reports/cycle-times/", {"from": "2026-03-01"})
    assert response.status_code == 200
    reading = [q["sql"] for q in queries if "workflows_humantask" in q["sql"]]
    assert len(reading) == 1
    assert "percentile_cont" in reading[0]
    assert "GROUPING SETS" in reading[0]


def test_the_python_fallback_gives_the_same_figures(world, tenant):
    """What SQLite (no percentile_cont) answers, on the same rows."""
    for filters in (
        reports.ReportFilters(),
        reports.ReportFilters(date_from=BASE.date() + timedelta(days=1)),
        reports.ReportFilters(workflow_id=world.finance.pk),
    ):
        in_sql = reports.cycle_times(tenant=tenant, filters=filters)
        assert in_sql == reports._cycle_times_in_python(tenant=tenant, filters=filters)
        ballots = reports._decided_ballots(tenant=tenant, filters=filters)
        assert list(reports.approvers(tenant=tenant, filters=filters)) == (
            reports._approvers_in_python(ballots)
        )


def test_percentile_cont_interpolates_like_postgresql():
    assert reports.percentile_cont([], 0.5) is None
    assert reports.percentile_cont([7], 0.9) == 7
    assert reports.percentile_cont([4, 1, 3, 2], 0.5) == 2.5
    assert reports.percentile_cont([10, 20, 30, 40, 50], 0.9) == pytest.approx(46)


def test_overdue_tasks(world, supervisor_client, django_assert_num_queries):
    before = timezone.now()
    with django_assert_num_queries(6):  # auth, tenant context, count, page; and the savepoint
        response = supervisor_client.get("/api/reports/overdue/")
    after = timezone.now()
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 2
    first, second = body["results"]
    assert first["id"] == world.waiting.pk
    assert first["workflow"] == world.finance.pk
    assert first["workflow_name"] == "Finance"
    assert first["step"] == {"position": 1, "name": "Approve 1"}
    assert first["subject"] == {"type": "test", "id": 104}
    assert first["eligible_count"] == 1
    assert first["required_approvals"] == 1
    waited = timedelta(hours=2).total_seconds()
    assert waited <= first["overdue_seconds"] <= waited + (after - before).total_seconds() + 1
    assert second["id"] == world.overdue_form.pk
    assert second["step"] == {"position": 0, "name": "Assess risk"}
    filtered = supervisor_client.get("/api/reports/overdue/", {"workflow": world.intake.pk})
    assert [t["id"] for t in filtered.json()["results"]] == [world.overdue_form.pk]
    paged = supervisor_client.get("/api/reports/overdue/", {"page_size": 1, "page": 2})
    assert [t["id"] for t in paged.json()["results"]] == [world.overdue_form.pk]


def _person(world, name, *, approved=0, rejected=0, completed=0, seconds=()):
    user = world.people[name]
    return {
        "user": user.pk,
        "email": user.email,
        "full_name": user.full_name,
        "decisions": approved + rejected + completed,
        "approved": approved,
        "rejected": rejected,
        "completed": completed,
        "median_seconds": median(seconds),
    }


def test_approvers(world, admin_client):
    response = admin_client.get("/api/reports/approvers/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 4
    alice_and_dave = sorted(
        [
            _person(world, "alice", approved=3, seconds=[60, 120, 3600]),
            _person(world, "dave", completed=3, seconds=FORM),
        ],
        key=lambda p: p["user"],
    )
    assert body["results"] == [
        _person(world, "carol", approved=3, rejected=1, seconds=STEP1),
        *alice_and_dave,
        _person(world, "bob", approved=2, seconds=[180, 240]),
    ]
    # Same filters as cycle times: day 2026-03-05 (run 3), and one workflow.
    day = admin_client.get("/api/reports/approvers/", {"from": "2026-03-05", "to": "2026-03-05"})
    assert day.json()["results"] == [
        _person(world, "bob", approved=1, seconds=[240]),
        _person(world, "carol", approved=1, seconds=[7200]),
    ]
    intake = admin_client.get("/api/reports/approvers/", {"workflow": world.intake.pk})
    assert intake.json()["results"] == [_person(world, "dave", completed=3, seconds=FORM)]


def test_report_query_budgets(world, admin_client, django_assert_num_queries):
    admin_client.get("/api/reports/approvers/")  # warm up
    # auth, tenant context, the savepoint, and the report: the count and the page for the
    # paginated one, however many people and tasks there are.
    with django_assert_num_queries(5):
        admin_client.get("/api/reports/cycle-times/")
    with django_assert_num_queries(6):
        admin_client.get("/api/reports/approvers/")


@pytest.mark.parametrize("role", [Role.AGENT, Role.VIEWER])
@pytest.mark.parametrize("report", ["cycle-times", "overdue", "approvers"])
def test_only_admins_and_supervisors(make_user, client_for, role, report):
    response = client_for(make_user(role)).get(f"/api/reports/{report}/")
    assert response.status_code == 403
    assert response.json() == {"detail": "Only an ADMIN or SUPERVISOR may read reports."}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-02-30"}, "to"),
        ({"from": "2026-03-05", "to": "2026-03-04"}, "to"),
        ({"workflow": "abc"}, "workflow"),
        ({"workflow": "١"}, "workflow"),
        ({"workflow": "0"}, "workflow"),
    ],
)
@pytest.mark.parametrize("report", ["cycle-times", "approvers"])
def test_bad_filters_are_a_400_naming_the_field(admin_client, report, query, field):
    response = admin_client.get(f"/api/reports/{report}/", query)
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]


def test_overdue_bad_workflow_is_a_400(admin_client):
    response = admin_client.get("/api/reports/overdue/", {"workflow": "x"})
    assert response.status_code == 400
    assert list(response.json()) == ["workflow"]
