"""Auth (JWT per DESIGN §4) and a tenant admin's management of their own users."""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import permissions, status, viewsets
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from accounts import lockout, selectors, services, tokens
from accounts.api.serializers import (
    EmailTokenObtainSerializer,
    LogoutInputSerializer,
    MeSerializer,
    TokenPairSerializer,
    TokenRefreshInputSerializer,
    UserCreateInputSerializer,
    UserSerializer,
    UserUpdateInputSerializer,
)
from accounts.models import Role, User
from core.api.schema import ERROR_DETAIL
from core.api.views import TenantScopedMixin
from core.errors import ValidationFailed
from core.proxies import AnonRateThrottle, ScopedRateThrottle, client_ip


class TokenObtainView(TokenObtainPairView):
    """`POST /api/auth/token/` with `{"email", "password"}`.

    Every failure (unknown email, wrong password, inactive user or tenant) is one 401 body; a
    locked email or client IP is one 429 body with `Retry-After`, whether the email exists or
    not and whether the password is right or not (see `accounts.lockout`; the client IP is
    `core.proxies.client_ip`). The stricter `login` throttle scope applies on top of the
    anonymous rate.
    """

    serializer_class = EmailTokenObtainSerializer
    throttle_classes = [AnonRateThrottle, ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(
        responses={
            200: TokenPairSerializer,
            401: OpenApiResponse(
                ERROR_DETAIL, description="Wrong credentials (one body for every cause)."
            ),
            429: OpenApiResponse(
                ERROR_DETAIL, description="Locked out or throttled; see Retry-After."
            ),
        }
    )
    def post(self, request: Request, *args: object, **kwargs: object) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        email = lockout.normalize_email(data.get("email"))
        attempt = lockout.login_attempt_begin(email=email, ip=client_ip(request))
        try:
            response = super().post(request, *args, **kwargs)
        except AuthenticationFailed:
            attempt.failed()
            raise
        except BaseException:
            attempt.release()  # a 400 (or worse) checked no password
            raise
        attempt.succeeded()
        return response


class RotatingTokenRefreshView(TokenRefreshView):
    """`POST /api/auth/token/refresh/` with `{"refresh"}` -> a new pair; the old one is spent.

    401 for a spent, expired or forged token, an inactive user or tenant, or a token older than
    the user's password (see `accounts.tokens`).
    """

    serializer_class = TokenRefreshInputSerializer

    @extend_schema(
        request=TokenRefreshInputSerializer,
        responses={
            200: TokenPairSerializer,
            401: OpenApiResponse(ERROR_DETAIL, description="Not usable."),
        },
    )
    def post(self, request: Request, *args: object, **kwargs: object) -> Response:
        data = TokenRefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            pair = tokens.refresh_rotate(data.validated_data["refresh"])
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        return Response(pair)


class LogoutView(APIView):
    """Blacklists the refresh token; the access token expires on its own shortly."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=LogoutInputSerializer, responses={204: None})
    def post(self, request: Request) -> Response:
        data = LogoutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            token = RefreshToken(data.validated_data["refresh"])
            if str(token.get("user_id")) != str(request.user.pk):
                raise ValidationFailed("Not your refresh token.", field="refresh")
            token.blacklist()
        except TokenError as exc:
            raise ValidationFailed("Token is invalid or expired.", field="refresh") from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: MeSerializer})
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)


class IsTenantAdminOrSupervisorReads(permissions.BasePermission):
    message = "Only a tenant ADMIN manages users."

    def has_permission(self, request: Request, view: object) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.tenant_id is not None):
            return False
        if request.method in permissions.SAFE_METHODS:
            return user.role in (Role.ADMIN, Role.SUPERVISOR)
        return user.role == Role.ADMIN


TENANT_PARAM = OpenApiParameter("tenant_id", int, OpenApiParameter.PATH)


@extend_schema_view(
    list=extend_schema(parameters=[TENANT_PARAM]),
    retrieve=extend_schema(parameters=[TENANT_PARAM]),
    create=extend_schema(
        parameters=[TENANT_PARAM],
        request=UserCreateInputSerializer,
        responses={201: UserSerializer},
    ),
    partial_update=extend_schema(
        parameters=[TENANT_PARAM],
        request=UserUpdateInputSerializer,
        responses={200: UserSerializer},
    ),
    destroy=extend_schema(
        parameters=[TENANT_PARAM],
        responses={204: None},
        description="Deactivates the user (history keeps their name).",
    ),
)
class TenantUserViewSet(TenantScopedMixin, viewsets.GenericViewSet):
    """`/api/tenants/{tenant_id}/users/`."""

    permission_classes = [IsTenantAdminOrSupervisorReads]
    serializer_class = UserSerializer
    # The schema's model look-up only (filters, path types); requests use `self.tenant`.
    queryset = User.objects.none()

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.user_list(tenant=self.tenant)

    def list(self, request: Request, tenant_id: int) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(UserSerializer(page, many=True).data)

    def retrieve(self, request: Request, tenant_id: int, pk: int) -> Response:
        return Response(UserSerializer(selectors.user_get(tenant=self.tenant, user_id=pk)).data)

    def create(self, request: Request, tenant_id: int) -> Response:
        data = UserCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_create(tenant=self.tenant, **data.validated_data, actor=request.user)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, tenant_id: int, pk: int) -> Response:
        user = selectors.user_get(tenant=self.tenant, user_id=pk)
        data = UserUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = services.user_update(
            tenant=self.tenant, user=user, data=dict(data.validated_data), actor=request.user
        )
        return Response(UserSerializer(user).data)

    def destroy(self, request: Request, tenant_id: int, pk: int) -> Response:
        user = selectors.user_get(tenant=self.tenant, user_id=pk)
        services.user_deactivate(tenant=self.tenant, user=user, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
