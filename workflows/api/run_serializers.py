"""Shapes of runs, tasks and decisions (DESIGN §4 pins the run shape)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.api.fields import IntegerField, StorableDictField
from workflows.models import HumanTask, StateTransition, StepRun, WorkflowRun


class RunStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = StepRun
        fields = [
            "id",
            "order",
            "name",
            "action",
            "status",
            "attempts",
            "started_at",
            "finished_at",
            "last_error",
        ]
        read_only_fields = fields


class RunSerializer(serializers.ModelSerializer):
    steps = RunStepSerializer(source="step_runs", many=True, read_only=True)

    class Meta:
        model = WorkflowRun
        fields = [
            "id",
            "workflow",
            "workflow_name",
            "subject_type",
            "subject_id",
            "sequence",
            "status",
            "started_at",
            "finished_at",
            "steps",
        ]
        read_only_fields = fields


class TransitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = StateTransition
        fields = [
            "object_type",
            "object_id",
            "from_status",
            "to_status",
            "actor",
            "comment",
            "created_at",
        ]
        read_only_fields = fields


class RunDetailSerializer(RunSerializer):
    history = serializers.SerializerMethodField()

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "history"]
        read_only_fields = fields

    def get_history(self, run: WorkflowRun) -> list[dict[str, Any]]:
        return TransitionSerializer(self.context.get("history", []), many=True).data


class TaskSubjectSerializer(serializers.Serializer):
    type = serializers.CharField()
    id = serializers.IntegerField()


class TaskWorkflowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField(allow_null=True)
    name = serializers.CharField()


class TaskSerializer(serializers.ModelSerializer):
    subject = serializers.SerializerMethodField()
    # Loaded with the task (selectors.task_inbox / task_get): an inbox shows it on every card.
    workflow = TaskWorkflowSerializer(source="run.workflow", read_only=True)

    class Meta:
        model = HumanTask
        fields = [
            "id",
            "run",
            "workflow",
            "step_run",
            "name",
            "action",
            "status",
            "subject",
            "rule",
            "required_approvals",
            "approvals_count",
            "rejections_count",
            "due_at",
            "created_at",
            "decided_at",
            "decided_by",
            "claimed_by",
            "claimed_at",
            "result",
        ]
        read_only_fields = fields

    def get_subject(self, task: HumanTask) -> dict[str, Any]:
        subjects = self.context.get("subjects", {})
        return subjects.get(
            (task.subject_type, task.subject_id), {"type": task.subject_type, "id": task.subject_id}
        )


class TaskInboxFilterSerializer(serializers.Serializer):
    action = serializers.CharField(
        max_length=64, required=False, allow_blank=True, help_text="e.g. approval"
    )
    subject_type = serializers.CharField(
        max_length=32, required=False, allow_blank=True, help_text="transfer or case"
    )


class TaskDecisionInputSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class TaskRejectInputSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=5000)


class TaskReleaseInputSerializer(TaskDecisionInputSerializer):
    """An optional comment, kept in the run's history."""


class TaskReassignInputSerializer(serializers.Serializer):
    to_user = IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        help_text="Who receives the task: an active member of this tenant.",
    )
    from_user = IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        required=False,
        allow_null=True,
        default=None,
        help_text=(
            "An approval task: whose open ballot moves (required when several people hold "
            "one). Ignored for a form task, which becomes `to_user`'s."
        ),
    )
    reason = serializers.CharField(max_length=2000, help_text="Why; kept in the run's history.")


class TaskCompleteInputSerializer(serializers.Serializer):
    data = StorableDictField()
    comment = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
