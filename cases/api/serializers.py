"""Case shapes. Input serializers check JSON types and sizes; the services check the rules
(tenant membership of the assignee, unique references, active workflows)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.models import Case, CasePriority, CaseStatus
from core.api.fields import IntegerField, StorableDictField
from workflows.api.run_serializers import RunSerializer

MAX_ID = 2**63 - 1
REFERENCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_./-]*$"


def id_field(**kwargs: Any) -> serializers.IntegerField:
    """An id; any value a bigint holds, so a wrong one is a clean 'does not exist'."""
    return IntegerField(min_value=-MAX_ID, max_value=MAX_ID, **kwargs)


# Output


class CaseSerializer(serializers.ModelSerializer):
    assignee_email = serializers.EmailField(
        source="assignee.email", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = Case
        fields = [
            "id",
            "reference",
            "title",
            "description",
            "status",
            "priority",
            "assignee",
            "assignee_email",
            "data",
            "created_by",
            "updated_by",
            "created_at",
            "updated_at",
            "closed_at",
        ]
        read_only_fields = fields


class CaseDetailSerializer(CaseSerializer):
    """A case with its runs (the run shape of `GET /api/runs/{id}/`, without the history),
    read from `context["runs"]`."""

    runs = serializers.SerializerMethodField()

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "runs"]
        read_only_fields = fields

    @extend_schema_field(RunSerializer(many=True))
    def get_runs(self, case: Case) -> list[dict[str, Any]]:
        return RunSerializer(self.context.get("runs", []), many=True).data


class CaseErrorSerializer(serializers.Serializer):
    """The body of a 401, 403, 404, 409 or 422 from the cases endpoints."""

    detail = serializers.CharField()


# Input


class CaseCreateInputSerializer(serializers.Serializer):
    reference = serializers.RegexField(
        REFERENCE_PATTERN,
        max_length=64,
        required=False,
        help_text="Unique in your tenant; left out, the case gets CASE-000123 from its id.",
        error_messages={
            "invalid": "Letters, digits and . _ / - only, starting with a letter or digit."
        },
    )
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=10000, required=False, allow_blank=True)
    priority = serializers.ChoiceField(choices=CasePriority.choices, required=False)
    assignee = id_field(required=False, allow_null=True, help_text="A user of your tenant.")
    data = StorableDictField(required=False, help_text="Any JSON object, up to 64 KB.")

    def to_service_kwargs(self) -> dict[str, Any]:
        values = dict(self.validated_data)
        if "assignee" in values:
            values["assignee_id"] = values.pop("assignee")
        return values


class CaseUpdateInputSerializer(CaseCreateInputSerializer):
    """PUT needs `title`; PATCH nothing. Fields left out keep their value."""

    status = serializers.ChoiceField(choices=CaseStatus.choices, required=False)


class CaseListFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=CaseStatus.choices, required=False)
    priority = serializers.ChoiceField(choices=CasePriority.choices, required=False)
    assignee = id_field(required=False, help_text="Cases assigned to this user id.")
    search = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="In the reference or the title, any case.",
    )


class CaseRunStartInputSerializer(serializers.Serializer):
    workflow = id_field(help_text="An active workflow of your tenant.")
