from django.urls import path

from tenants.api.views import TenantViewSet

urlpatterns = [
    path("tenants/", TenantViewSet.as_view({"get": "list", "post": "create"}), name="tenant-list"),
    path(
        "tenants/<int:pk>/",
        TenantViewSet.as_view({"get": "retrieve", "put": "update", "patch": "partial_update"}),
        name="tenant-detail",
    ),
]
