"""Auth (JWT per DESIGN §4 for API clients, session + CSRF for the console) and a tenant
admin's management of their own users."""

from __future__ import annotations

from contextlib import AbstractContextManager

from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.middleware.csrf import get_token
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import permissions, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from accounts import lockout, selectors, services, tokens
from accounts.api.serializers import (
    CsrfTokenSerializer,
    DelegationInputSerializer,
    DelegationSerializer,
    DelegationStateSerializer,
    EmailLoginSerializer,
    EmailTokenObtainSerializer,
    LogoutInputSerializer,
    MeSerializer,
    NotificationPreferencesSerializer,
    SessionStateSerializer,
    TokenPairSerializer,
    TokenRefreshInputSerializer,
    UserCreateInputSerializer,
    UserSerializer,
    UserUpdateInputSerializer,
)
from accounts.authentication import TenantJWTAuthentication, TenantSessionAuthentication
from accounts.models import Role, User
from accounts.permissions import IsTenantMember
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
        with login_guard(request):
            return super().post(request, *args, **kwargs)


def login_guard(request: Request) -> AbstractContextManager[lockout.LoginAttempt]:
    """`accounts.lockout.login_guard` for this request's email and client IP."""
    data = request.data if isinstance(request.data, dict) else {}
    return lockout.login_guard(email=data.get("email"), ip=client_ip(request))


class CsrfProtected(permissions.BasePermission):
    """Django's CSRF check (cookie + `X-CSRFToken`, Origin) on unsafe requests, signed in or not.

    For the session login: without it a page elsewhere could sign a browser into the
    attacker's account (login CSRF). Signed-in session requests get it from
    `TenantSessionAuthentication`.
    """

    def has_permission(self, request: Request, view: object) -> bool:
        TenantSessionAuthentication().enforce_csrf(request)  # 403 with the reason
        return True


class CsrfTokenView(APIView):
    """`GET /api/auth/csrf/`: sets the `csrftoken` cookie and returns its token."""

    authentication_classes: list[type] = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        summary="CSRF token for the session sign-in",
        responses={200: CsrfTokenSerializer},
        auth=[],
    )
    @method_decorator(ensure_csrf_cookie)
    def get(self, request: Request) -> Response:
        response = Response({"csrf_token": get_token(request._request)})
        add_never_cache_headers(response)
        return response


SESSION_FAILURES = {
    401: OpenApiResponse(ERROR_DETAIL, description="Wrong credentials (one body for every cause)."),
    403: OpenApiResponse(
        ERROR_DETAIL, description="CSRF check failed (no or wrong `X-CSRFToken`, or origin)."
    ),
    429: OpenApiResponse(ERROR_DETAIL, description="Locked out or throttled; see Retry-After."),
}


class SessionView(APIView):
    """`POST /api/auth/session/` signs the browser in (session cookie); `DELETE` signs it out.

    The console's sign-in; API clients use the tokens. Login takes the token login's rules:
    the same lockout, `login` throttle, and one 401 body for every failure; and a CSRF token,
    always. On success the session key and the CSRF token are new (read the `csrftoken`
    cookie again).
    """

    authentication_classes = [TenantSessionAuthentication]
    throttle_scope = "login"

    def get_permissions(self) -> list[permissions.BasePermission]:
        if self.request.method == "POST":
            return [CsrfProtected()]
        return [permissions.AllowAny()]

    def get_authenticate_header(self, request: Request) -> str:
        # A 401 stays a 401 (DRF makes it a 403 without a challenge): the API's usual one.
        return TenantJWTAuthentication().authenticate_header(request)

    def get_throttles(self) -> list[BaseThrottle]:
        if self.request.method == "POST":
            return [AnonRateThrottle(), ScopedRateThrottle()]
        return super().get_throttles()

    @extend_schema(
        summary="Who the session signs in (the console's first question)",
        responses={200: SessionStateSerializer},
    )
    def get(self, request: Request) -> Response:
        # 200 either way: a signed-out visitor is an answer, not an error (no 401 for the
        # console to log); a JWT on this path is not a session and is not looked at.
        user = request.user if request.user and request.user.is_authenticated else None
        return Response(
            {"user": MeSerializer(user).data if user is not None else None},
            headers={"Cache-Control": "no-store"},
        )

    @extend_schema(
        summary="Sign in with a session cookie (the console)",
        request=EmailLoginSerializer,
        responses={200: MeSerializer, **SESSION_FAILURES},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = EmailLoginSerializer(data=request.data, context={"request": request})
        with login_guard(request):
            serializer.is_valid(raise_exception=True)
            auth_login(request._request, serializer.user)  # a new session key and CSRF token
        return Response(MeSerializer(serializer.user).data)

    @extend_schema(
        summary="Sign out (ends the session)",
        responses={
            204: OpenApiResponse(description="Signed out (also when no session was open)."),
            403: SESSION_FAILURES[403],
        },
    )
    def delete(self, request: Request) -> Response:
        # A signed-in caller passed the CSRF check in authentication; otherwise there is
        # nothing of theirs to end.
        auth_logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


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


class DelegationView(TenantScopedMixin, APIView):
    """`/api/auth/me/delegation/`: the caller's out-of-office delegate.

    While the window is open (`starts_at` inclusive, `ends_at` exclusive) the caller's tasks
    are offered to the delegate too. Not transitive: the delegate's own delegation is not
    followed.
    """

    permission_classes = [IsTenantMember]

    @extend_schema(
        summary="Your out-of-office delegation (null when none)",
        responses={200: DelegationStateSerializer},
    )
    def get(self, request: Request) -> Response:
        delegation = selectors.delegation_get(tenant=self.tenant, user=request.user)
        data = DelegationSerializer(delegation).data if delegation is not None else None
        return Response({"delegation": data})

    @extend_schema(
        summary="Set or replace your out-of-office delegation",
        request=DelegationInputSerializer,
        responses={200: DelegationSerializer},
    )
    def put(self, request: Request) -> Response:
        data = DelegationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        delegation = services.delegation_set(
            tenant=self.tenant,
            user=request.user,
            delegate_id=values["delegate"],
            starts_at=values["starts_at"],
            ends_at=values["ends_at"],
            reason=values["reason"],
        )
        return Response(DelegationSerializer(delegation).data)

    @extend_schema(
        summary="End your out-of-office delegation",
        responses={204: OpenApiResponse(description="Ended (also when there was none).")},
    )
    def delete(self, request: Request) -> Response:
        services.delegation_clear(tenant=self.tenant, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class NotificationPreferencesView(TenantScopedMixin, APIView):
    """`/api/auth/me/notifications/`: which emails the caller receives."""

    permission_classes = [IsTenantMember]

    @extend_schema(
        summary="Your notification preferences",
        responses={200: NotificationPreferencesSerializer},
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.notification_preferences(tenant=self.tenant, user=request.user))

    @extend_schema(
        summary="Turn kinds of notification email on or off",
        request=NotificationPreferencesSerializer,
        responses={200: NotificationPreferencesSerializer},
    )
    def patch(self, request: Request) -> Response:
        data = NotificationPreferencesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(
            services.notification_preferences_update(
                tenant=self.tenant, user=request.user, changes=dict(data.validated_data)
            )
        )
