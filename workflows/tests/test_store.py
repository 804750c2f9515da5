"""The engine store's shortcuts around Model.__init__ build what Django builds."""

import pytest
from django.db.models import signals

from accounts.models import Role
from workflows.engine import store
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
    built, django = store.new(HumanTask, **values), HumanTask(**values)
    assert fields_of(built) == fields_of(django)
    assert built._state.adding
    assert built._state.db is None
    assert built.step_run is step_run
    assert built.run is run
    fresh = store.new(StepRun, tenant_id=tenant.pk, run=run, position=0, order=0, name="x")
    assert fresh.config == {}
    assert fresh.config is not store.new(StepRun).config
    assert fresh.idempotency_key != store.new(StepRun).idempotency_key  # callable default


def test_new_rejects_what_model_init_rejects():
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        store.new(WorkflowRun, colour="red")
    assert store.new(WorkflowRun, pk=5).id == 5  # a property, as Model.__init__ allows


def test_instance_matches_from_db(tenant, make_user):
    make_user(Role.SUPERVISOR)
    task = open_task(
        start(tenant, approval_workflow(tenant, {"approvers": {"role": "SUPERVISOR"}}))
    )
    rows, _ = store.execute(
        f"SELECT {store.columns(HumanTask)} FROM workflows_humantask WHERE id = %s", [task.pk]
    )
    built = store.instance(HumanTask, rows[0])
    assert fields_of(built) == fields_of(HumanTask.objects.get(pk=task.pk))
    assert not built._state.adding
    assert built._state.db == "default"


def test_an_init_signal_receiver_gets_model_init(tenant):
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    signals.post_init.connect(receiver, sender=WorkflowRun)
    try:
        built = store.new(WorkflowRun, tenant_id=tenant.pk, subject_type="case", subject_id=1)
        assert seen == [built]
    finally:
        signals.post_init.disconnect(receiver, sender=WorkflowRun)
    store.new(WorkflowRun, tenant_id=tenant.pk)
    assert seen == [built]  # disconnected: the shortcut again


def test_engine_cursors_load_timestamps_with_the_compiled_loader():
    import psycopg
    from django.db import connection
    from django.db.backends.postgresql.base import TIMESTAMPTZ_OID
    from psycopg.pq import Format

    connection.ensure_connection()
    sql = "SELECT %s::timestamptz"
    cursor = store._postgres_cursor(connection, sql)
    compiled = psycopg.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    assert cursor.cursor.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT) is compiled
    rows, _ = store.execute(sql, ["2026-01-01 00:00:00+05:30"])
    with connection.cursor() as orm:
        orm.execute(sql, ["2026-01-01 00:00:00+05:30"])
        assert rows[0] == orm.fetchone()  # the ORM's loader: same instant, same tzinfo
    assert rows[0][0].tzinfo is orm_tz(connection)


def orm_tz(connection):
    from django.db.backends.postgresql.base import TIMESTAMPTZ_OID
    from psycopg.pq import Format

    return connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT).timezone
