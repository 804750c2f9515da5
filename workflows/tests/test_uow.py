"""The unit of work: held writes travel with the next statement; the ORM sees them in a block."""

from __future__ import annotations

import pytest
from django.db import transaction

from accounts.models import Role
from workflows.engine import UnitOfWork
from workflows.models import StateTransition, WorkflowRun
from workflows.tests.engine_helpers import approval_workflow, start

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(tenant, make_user):
    make_user(Role.SUPERVISOR)
    return start(tenant, approval_workflow(tenant, {"approvers": {"role": "SUPERVISOR"}}))


def _name_in_db(run):
    return WorkflowRun.objects.values_list("workflow_name", flat=True).get(pk=run.pk)


def test_a_held_write_waits_for_the_next_statement(tenant, run, django_assert_num_queries):
    with transaction.atomic():
        uow = UnitOfWork(tenant.pk, None)
        run.workflow_name = "Renamed"
        with django_assert_num_queries(0):
            uow.write(run, ["workflow_name"])
        assert _name_in_db(run) != "Renamed"  # held: the ORM does not see it yet
        with django_assert_num_queries(1):
            uow.flush()
        assert _name_in_db(run) == "Renamed"


def test_the_orm_block_sends_what_is_held_first(tenant, run, django_assert_num_queries):
    with transaction.atomic():
        uow = UnitOfWork(tenant.pk, None)
        run.workflow_name = "Before the block"
        uow.write(run, ["workflow_name"])
        with django_assert_num_queries(1), uow.orm():
            pass
        with uow.orm():
            assert _name_in_db(run) == "Before the block"
        assert uow.pending == []


def test_a_write_inside_the_orm_block_is_sent_at_once(tenant, run):
    with transaction.atomic():
        uow = UnitOfWork(tenant.pk, None)
        with uow.orm():
            run.workflow_name = "Inside"
            uow.write(run, ["workflow_name"])
            assert _name_in_db(run) == "Inside"
            with uow.orm():  # nested: still sent at once
                run.workflow_name = "Nested"
                uow.write(run, ["workflow_name"])
                assert _name_in_db(run) == "Nested"
            run.workflow_name = "Still inside"
            uow.write(run, ["workflow_name"])
            assert _name_in_db(run) == "Still inside"
        run.workflow_name = "After"
        uow.write(run, ["workflow_name"])  # outside again: held
        assert _name_in_db(run) == "Still inside"
        uow.flush()
        assert _name_in_db(run) == "After"


def test_the_transition_log_is_written_with_the_flush(tenant, run):
    with transaction.atomic():
        uow = UnitOfWork(tenant.pk, None, "why")
        before = StateTransition.objects.count()
        uow.record("run", run.pk, "running", "completed")
        with uow.orm():
            assert StateTransition.objects.count() == before
        uow.flush()
        row = StateTransition.objects.order_by("-pk").first()
        assert (row.object_id, row.from_status, row.to_status, row.comment) == (
            run.pk,
            "running",
            "completed",
            "why",
        )
