"""Helpers for engine tests: build a workflow and start it on a bare subject."""

from django.db import transaction

from tests.factories import StepFactory, WorkflowFactory
from workflows import services
from workflows.models import HumanTask, TaskStatus


def approval_workflow(tenant, *configs, name="Approval"):
    workflow = WorkflowFactory(tenant=tenant, name=name)
    for order, config in enumerate(configs):
        StepFactory(
            workflow=workflow,
            order=order,
            action="approval",
            config=config,
            name=f"Approve {order}",
        )
    return workflow


def start(tenant, workflow, *, submitted_by=None, actor=None, subject_id=1):
    with transaction.atomic():
        return services.run_start_on_subject(
            tenant=tenant,
            subject_type="test",
            subject_id=subject_id,
            workflow=workflow,
            submitted_by=submitted_by,
            actor=actor,
        )


def open_task(run):
    return HumanTask.objects.get(run=run, status=TaskStatus.PENDING)
