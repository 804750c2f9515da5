import os

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.api.audit import AuditLogView
from core.api.health import healthz, readyz
from core.console import NOT_CONSOLE, console_index
from core.metrics import metrics_view
from workflows.api.actions import ActionListView

api_patterns = [
    path("", include("accounts.api.urls")),
    path("", include("tenants.api.urls")),
    path("", include("workflows.api.urls")),
    path("approvals/", include("approvals.api.urls")),
    path("cases/", include("cases.api.urls")),
    path("actions/", ActionListView.as_view(), name="action-list"),
    path("audit-log/", AuditLogView.as_view(), name="audit-log"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

urlpatterns = [
    path("api/", include(api_patterns)),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),  # Prometheus (core.metrics: who may read)
    # Last: every other path is the console's (its router's deep links).
    re_path(NOT_CONSOLE, console_index, name="console"),
]

# `make load`'s framework ceiling (bench/load/ceiling.py): never mounted unless asked for.
if os.environ.get("WORKFLOWS_BENCH_CEILING") == "1":
    urlpatterns.insert(0, path("bench/ceiling/", include("bench.load.ceiling")))

handler404 = "core.api.exceptions.json_not_found"
handler500 = "core.api.exceptions.json_server_error"
