from django.urls import path

from accounts.api.views import (
    CsrfTokenView,
    DelegationView,
    LogoutView,
    MeView,
    NotificationPreferencesView,
    RotatingTokenRefreshView,
    SessionView,
    TenantUserViewSet,
    TokenObtainView,
)

urlpatterns = [
    path("auth/token/", TokenObtainView.as_view(), name="token-obtain"),
    path("auth/token/refresh/", RotatingTokenRefreshView.as_view(), name="token-refresh"),
    path("auth/logout/", LogoutView.as_view(), name="logout"),
    path("auth/me/", MeView.as_view(), name="me"),
    path("auth/me/delegation/", DelegationView.as_view(), name="me-delegation"),
    path(
        "auth/me/notifications/",
        NotificationPreferencesView.as_view(),
        name="me-notifications",
    ),
    path("auth/csrf/", CsrfTokenView.as_view(), name="auth-csrf"),
    path("auth/session/", SessionView.as_view(), name="auth-session"),
    path(
        "tenants/<int:tenant_id>/users/",
        TenantUserViewSet.as_view({"get": "list", "post": "create"}),
        name="tenant-user-list",
    ),
    path(
        "tenants/<int:tenant_id>/users/<int:pk>/",
        TenantUserViewSet.as_view(
            {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
        ),
        name="tenant-user-detail",
    ),
]
