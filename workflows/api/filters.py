import django_filters

from workflows.models import Workflow


class WorkflowFilter(django_filters.FilterSet):
    """`?is_active=`, `?transfer_type=`, `?code=`, `?search=` (name contains)."""

    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains", max_length=200)

    class Meta:
        model = Workflow
        fields = ["is_active", "transfer_type", "code"]
