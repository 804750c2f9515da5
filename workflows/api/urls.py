from django.urls import path

from workflows.api.calendars import BusinessCalendarViewSet
from workflows.api.reports import ApproversView, CycleTimesView, OverdueView
from workflows.api.runs import (
    RunCancelView,
    RunDetailView,
    RunRetryView,
    TaskApproveView,
    TaskClaimView,
    TaskCompleteView,
    TaskDetailView,
    TaskInboxView,
    TaskReassignView,
    TaskRejectView,
    TaskReleaseView,
)
from workflows.api.views import StepViewSet, WorkflowViewSet
from workflows.api.webhooks import WebhookDeliveryViewSet, WebhookSubscriptionViewSet

workflow_list = WorkflowViewSet.as_view({"get": "list", "post": "create"})
workflow_detail = WorkflowViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
)
step_list = StepViewSet.as_view({"get": "list", "post": "create"})
step_detail = StepViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
)
calendar_list = BusinessCalendarViewSet.as_view({"get": "list", "post": "create"})
calendar_detail = BusinessCalendarViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
)
webhook_list = WebhookSubscriptionViewSet.as_view({"get": "list", "post": "create"})
webhook_detail = WebhookSubscriptionViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
)
webhook_rotate = WebhookSubscriptionViewSet.as_view({"post": "rotate_secret"})
webhook_deliveries = WebhookDeliveryViewSet.as_view({"get": "list"})

urlpatterns = [
    path("tenants/<int:tenant_id>/workflows/", workflow_list, name="workflow-list"),
    path("tenants/<int:tenant_id>/workflows/<int:pk>/", workflow_detail, name="workflow-detail"),
    path("workflows/<int:workflow_id>/steps/", step_list, name="step-list"),
    path("workflows/<int:workflow_id>/steps/<int:pk>/", step_detail, name="step-detail"),
    path("runs/<int:pk>/", RunDetailView.as_view(), name="run-detail"),
    path("runs/<int:pk>/cancel/", RunCancelView.as_view(), name="run-cancel"),
    path("runs/<int:pk>/retry/", RunRetryView.as_view(), name="run-retry"),
    path("tasks/", TaskInboxView.as_view(), name="task-inbox"),
    path("tasks/<int:pk>/", TaskDetailView.as_view(), name="task-detail"),
    path("tasks/<int:pk>/approve/", TaskApproveView.as_view(), name="task-approve"),
    path("tasks/<int:pk>/reject/", TaskRejectView.as_view(), name="task-reject"),
    path("tasks/<int:pk>/complete/", TaskCompleteView.as_view(), name="task-complete"),
    path("tasks/<int:pk>/claim/", TaskClaimView.as_view(), name="task-claim"),
    path("tasks/<int:pk>/release/", TaskReleaseView.as_view(), name="task-release"),
    path("tasks/<int:pk>/reassign/", TaskReassignView.as_view(), name="task-reassign"),
    path("calendars/", calendar_list, name="calendar-list"),
    path("calendars/<int:pk>/", calendar_detail, name="calendar-detail"),
    path("reports/cycle-times/", CycleTimesView.as_view(), name="report-cycle-times"),
    path("reports/overdue/", OverdueView.as_view(), name="report-overdue"),
    path("reports/approvers/", ApproversView.as_view(), name="report-approvers"),
    path("webhooks/", webhook_list, name="webhook-list"),
    path("webhooks/<int:pk>/", webhook_detail, name="webhook-detail"),
    path("webhooks/<int:pk>/rotate-secret/", webhook_rotate, name="webhook-rotate-secret"),
    path(
        "webhooks/<int:subscription_id>/deliveries/",
        webhook_deliveries,
        name="webhook-deliveries",
    ),
]
