"""The SQL toolkit's shortcuts around Model.__init__ build what Django builds."""

import pytest
from django.db.models import signals

from accounts.models import Role
from workflows.engine import rows as engine_rows
from workflows.engine import sql as engine_sql
from workflows.models import HumanTask, StepRun, WorkflowRun
from workflows.tests.engine_helpers import approval_workflow, open_task, start

pytestmark = pytest.mark.django_db


def fields_of(obj):
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_new_matches_model_init(tenant, make_user):
    user = make_user(Role.SUPERVISOR)
    run = start(tenant, approval_workflow(tenant, {"approvers": {"role": "SUPERVISOR"}}))
    step_run = run.step_runs.get()
    values = {
        "tenant_id": tenant.pk,
        "step_run": step_run,
        "run": run,
        "subject_type": "case",
        "subject_id": 7,
        "name": "Check",
        "action": "approval",
        "submitted_by_id": user.pk,
    }
    built, django = engine_rows.new(HumanTask, **values), HumanTask(**values)
    assert fields_of(built) == fields_of(django)
    assert built._state.adding
    assert built._state.db is None
    assert built.step_run is step_run
    assert built.run is run
    fresh = engine_rows.new(StepRun, tenant_id=tenant.pk, run=run, position=0, order=0, name="x")
    assert fresh.config == {}
    assert fresh.config is not engine_rows.new(StepRun).config
    assert fresh.idempotency_key != engine_rows.new(StepRun).idempotency_key  # callable default


def test_new_rejects_what_model_init_rejects():
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        engine_rows.new(WorkflowRun, colour="red")
    assert engine_rows.new(WorkflowRun, pk=5).id == 5  # a property, as Model.__init__ allows


def test_instance_matches_from_db(tenant, make_user):
    make_user(Role.SUPERVISOR)
    task = open_task(
        start(tenant, approval_workflow(tenant, {"approvers": {"role": "SUPERVISOR"}}))
    )
    found, _ = engine_sql.execute(
        f"SELECT {engine_rows.columns(HumanTask)} FROM workflows_humantask WHERE id = %s", [task.pk]
    )
    built = engine_rows.instance(HumanTask, found[0])
    assert fields_of(built) == fields_of(HumanTask.objects.get(pk=task.pk))
    assert not built._state.adding
    assert built._state.db == "default"


def test_an_init_signal_receiver_gets_model_init(tenant):
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    signals.post_init.connect(receiver, sender=WorkflowRun)
    try:
        built = engine_rows.new(WorkflowRun, tenant_id=tenant.pk, subject_type="case", subject_id=1)
        assert seen == [built]
    finally:
        signals.post_init.disconnect(receiver, sender=WorkflowRun)
    engine_rows.new(WorkflowRun, tenant_id=tenant.pk)
    assert seen == [built]  # disconnected: the shortcut again


def test_engine_cursors_load_timestamps_with_the_compiled_loader():
    import psycopg
    from django.db import connection
    from django.db.backends.postgresql.base import TIMESTAMPTZ_OID
    from psycopg.pq import Format

    connection.ensure_connection()
    sql = "SELECT %s::timestamptz"
    cursor = engine_sql._postgres_cursor(connection, sql)
    compiled = psycopg.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    assert cursor.cursor.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT) is compiled
    found, _ = engine_sql.execute(sql, ["2026-01-01 00:00:00+05:30"])
    with connection.cursor() as orm:
        orm.execute(sql, ["2026-01-01 00:00:00+05:30"])
        assert found[0] == orm.fetchone()  # the ORM's loader: same instant, same tzinfo
    assert found[0][0].tzinfo is orm_tz(connection)


def orm_tz(connection):
    from django.db.backends.postgresql.base import TIMESTAMPTZ_OID
    from psycopg.pq import Format

    return connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT).timezone


def test_lock_task_hands_what_it_read_ahead_over_as_a_frozen_value(
    tenant, make_user, django_assert_num_queries
):
    import dataclasses

    from django.db import transaction

    from workflows.engine import Ballot, Locked, lock_task

    approver = make_user(Role.SUPERVISOR)
    outsider = make_user(Role.AGENT)
    config = {"approvers": {"role": "SUPERVISOR"}}
    run = start(tenant, approval_workflow(tenant, config, config))
    task = open_task(run)
    with transaction.atomic():
        with django_assert_num_queries(1):
            locked = lock_task(tenant_id=tenant.pk, task_id=task.pk, voter_id=approver.pk)
        assert isinstance(locked, Locked)
        assert (locked.task.pk, locked.step_run.pk, locked.run.pk) == (
            task.pk,
            task.step_run_id,
            run.pk,
        )
        assert locked.ballot is Ballot.OPEN
        assert locked.next_step.position == 1
        assert locked.next_run is None
        assert locked.next_run_first_step is None
        # Nothing hangs on the instances any more.
        assert not hasattr(locked.step_run, "next_step")
        assert not hasattr(locked.task, "voter_ballot")
        with pytest.raises(dataclasses.FrozenInstanceError):
            locked.ballot = Ballot.DECIDED  # type: ignore[misc]
        other = lock_task(tenant_id=tenant.pk, task_id=task.pk, voter_id=outsider.pk)
        assert other.ballot is Ballot.NONE
