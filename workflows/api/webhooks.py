"""`/api/webhooks/`: a tenant ADMIN's subscriptions to engine events, and their delivery logs."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import django_filters
from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import IsTenantAdmin
from core.api.views import TenantScopedMixin
from workflows import webhook_selectors as selectors
from workflows.engine.actions import WebhookConfigSerializer
from workflows.models import DeliveryStatus, WebhookDelivery, WebhookEvent, WebhookSubscription
from workflows.services import webhooks as services


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEvent.choices))

    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "events", "active", "description", "created_at", "updated_at"]
        read_only_fields = fields


class WebhookSubscriptionWithSecretSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(
        help_text="Signs every delivery (see README). Shown only now: store it."
    )

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookSubscriptionInputSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2000)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEvent.choices),
        allow_empty=False,
        max_length=len(WebhookEvent.values),
    )
    active = serializers.BooleanField(default=True)
    description = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )

    def validate_url(self, value: str) -> str:
        # https only, unless private targets are allowed (a local receiver, as for steps).
        if urlsplit(value).scheme.lower() != "https" and not settings.WEBHOOK_ALLOW_PRIVATE:
            raise serializers.ValidationError("Only https URLs are allowed.")
        if urlsplit(value).username is not None:
            raise serializers.ValidationError("Credentials do not belong in the URL.")
        # The webhook step's checks: http(s), a host, a valid port, no private literal address.
        return WebhookConfigSerializer().validate_url(value)

    def validate_events(self, value: list[str]) -> list[str]:
        return sorted(set(value))


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "key",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "created_at",
            "last_attempt_at",
            "delivered_at",
        ]
        read_only_fields = fields


class WebhookSubscriptionFilter(django_filters.FilterSet):
    """`?active=`."""

    class Meta:
        model = WebhookSubscription
        fields = ["active"]


class WebhookDeliveryFilter(django_filters.FilterSet):
    """`?status=`, `?event=`."""

    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices)
    event = django_filters.ChoiceFilter(choices=WebhookEvent.choices)

    class Meta:
        model = WebhookDelivery
        fields = ["status", "event"]


@extend_schema_view(
    list=extend_schema(summary="List the tenant's webhook subscriptions"),
    create=extend_schema(
        request=WebhookSubscriptionInputSerializer,
        responses={201: WebhookSubscriptionWithSecretSerializer},
        summary="Subscribe a URL to engine events (the answer shows the secret, once)",
    ),
    retrieve=extend_schema(summary="A webhook subscription (without its secret)"),
    update=extend_schema(
        request=WebhookSubscriptionInputSerializer,
        responses={200: WebhookSubscriptionSerializer},
        summary="Replace a webhook subscription",
    ),
    partial_update=extend_schema(
        request=WebhookSubscriptionInputSerializer,
        responses={200: WebhookSubscriptionSerializer},
        summary="Update a webhook subscription",
    ),
    destroy=extend_schema(
        responses={204: None}, summary="Delete a webhook subscription and its delivery log"
    ),
)
class WebhookSubscriptionViewSet(TenantScopedMixin, viewsets.GenericViewSet):
    """`/api/webhooks/`: ADMIN only; another tenant's subscription is a 404."""

    permission_classes = [IsTenantAdmin]
    serializer_class = WebhookSubscriptionSerializer
    # The schema's model look-up only (filters, path types); requests use `self.tenant`.
    queryset = WebhookSubscription.objects.none()
    filterset_class = WebhookSubscriptionFilter
    path_model = WebhookSubscription

    def get_queryset(self) -> Any:
        return selectors.subscription_list(tenant=self.tenant)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(WebhookSubscriptionSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: int) -> Response:
        subscription = selectors.subscription_get(tenant=self.tenant, subscription_id=pk)
        return Response(WebhookSubscriptionSerializer(subscription).data)

    def create(self, request: Request) -> Response:
        data = WebhookSubscriptionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = services.subscription_create(
            tenant=self.tenant, **data.validated_data, actor=request.user
        )
        return Response(
            WebhookSubscriptionWithSecretSerializer(subscription).data,
            status=status.HTTP_201_CREATED,
        )

    def _update(self, request: Request, pk: int, *, partial: bool) -> Response:
        subscription = selectors.subscription_get(tenant=self.tenant, subscription_id=pk)
        data = WebhookSubscriptionInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        subscription = services.subscription_update(
            subscription=subscription, data=dict(data.validated_data), actor=request.user
        )
        return Response(WebhookSubscriptionSerializer(subscription).data)

    def update(self, request: Request, pk: int) -> Response:
        return self._update(request, pk, partial=False)

    def partial_update(self, request: Request, pk: int) -> Response:
        return self._update(request, pk, partial=True)

    def destroy(self, request: Request, pk: int) -> Response:
        subscription = selectors.subscription_get(tenant=self.tenant, subscription_id=pk)
        services.subscription_delete(subscription=subscription)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses={200: WebhookSubscriptionWithSecretSerializer},
        summary="Replace the signing secret (the answer shows the new one, once)",
    )
    def rotate_secret(self, request: Request, pk: int) -> Response:
        subscription = selectors.subscription_get(tenant=self.tenant, subscription_id=pk)
        subscription = services.subscription_rotate_secret(
            subscription=subscription, actor=request.user
        )
        return Response(WebhookSubscriptionWithSecretSerializer(subscription).data)


SUBSCRIPTION_PARAM = OpenApiParameter("subscription_id", int, OpenApiParameter.PATH)


@extend_schema_view(
    list=extend_schema(
        parameters=[SUBSCRIPTION_PARAM],
        summary="A subscription's delivery log, newest first",
    ),
)
class WebhookDeliveryViewSet(TenantScopedMixin, viewsets.GenericViewSet):
    """`/api/webhooks/{id}/deliveries/`: each event sent (or being sent) to the subscription."""

    permission_classes = [IsTenantAdmin]
    serializer_class = WebhookDeliverySerializer
    queryset = WebhookDelivery.objects.none()
    filterset_class = WebhookDeliveryFilter

    def get_queryset(self) -> Any:
        subscription = selectors.subscription_get(
            tenant=self.tenant, subscription_id=self.kwargs["subscription_id"]
        )
        return selectors.delivery_list(tenant=self.tenant, subscription=subscription)

    def list(self, request: Request, subscription_id: int) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)
