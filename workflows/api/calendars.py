"""`/api/calendars/`: the tenant's business calendars. Every role reads, ADMIN writes."""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any
from zoneinfo import available_timezones

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import IsAdminOrReadOnly
from core.api.fields import IntegerField
from core.api.schema import error_response
from core.api.views import TenantScopedMixin
from workflows import selectors
from workflows.models import BusinessCalendar
from workflows.services import calendars as services

MAX_HOLIDAYS = 1000


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


class HolidaySerializer(serializers.Serializer):
    date = serializers.DateField()
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class BusinessCalendarSerializer(serializers.ModelSerializer):
    holidays = HolidaySerializer(many=True, read_only=True)
    working_days = serializers.ListField(child=serializers.IntegerField(), read_only=True)

    class Meta:
        model = BusinessCalendar
        fields = [
            "id",
            "name",
            "time_zone",
            "working_days",
            "start_time",
            "end_time",
            "holidays",
            "is_default",
            "created_at",
            "updated_at",
            "created_by",
            "updated_by",
        ]
        read_only_fields = fields


class BusinessCalendarInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    time_zone = serializers.CharField(
        max_length=64, help_text='An IANA time zone name, e.g. "Europe/Paris".'
    )
    working_days = serializers.ListField(
        child=IntegerField(min_value=1, max_value=7),
        min_length=1,
        max_length=7,
        required=False,
        help_text="ISO weekdays: Monday 1 ... Sunday 7. Default Monday to Friday.",
    )
    start_time = serializers.TimeField(required=False, help_text="Local time; default 09:00.")
    end_time = serializers.TimeField(
        required=False, help_text="Local time, after `start_time`; default 17:00."
    )
    holidays = HolidaySerializer(many=True, required=False, max_length=MAX_HOLIDAYS)
    is_default = serializers.BooleanField(required=False)

    def validate_time_zone(self, value: str) -> str:
        if value not in _time_zones():
            raise serializers.ValidationError(
                f"Unknown time zone '{value}': use an IANA name such as 'Europe/Paris'."
            )
        return value

    def validate_working_days(self, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Each weekday at most once.")
        return sorted(value)

    def validate_holidays(self, value: list[dict[str, Any]]) -> list[dict[str, str]]:
        dates: list[date] = [h["date"] for h in value]
        if len(set(dates)) != len(dates):
            raise serializers.ValidationError("Each date at most once.")
        ordered = sorted(value, key=lambda h: h["date"])
        return [{"date": h["date"].isoformat(), "name": h.get("name", "")} for h in ordered]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start_time"), attrs.get("end_time")
        if start is not None and end is not None and end <= start:
            raise serializers.ValidationError({"end_time": ["Must be after start_time."]})
        return attrs


class BusinessCalendarFilter(django_filters.FilterSet):
    """`?is_default=`, `?search=` (name contains)."""

    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains", max_length=200)

    class Meta:
        model = BusinessCalendar
        fields = ["is_default"]


WRITE_ERRORS = {400: error_response(400), 409: error_response(409)}


@extend_schema_view(
    list=extend_schema(summary="List the tenant's business calendars"),
    create=extend_schema(
        request=BusinessCalendarInputSerializer,
        responses={201: BusinessCalendarSerializer, **WRITE_ERRORS},
        summary="Create a business calendar (ADMIN)",
    ),
    retrieve=extend_schema(summary="A business calendar"),
    update=extend_schema(
        request=BusinessCalendarInputSerializer,
        responses={200: BusinessCalendarSerializer, **WRITE_ERRORS},
        summary="Replace a business calendar (ADMIN)",
    ),
    partial_update=extend_schema(
        request=BusinessCalendarInputSerializer,
        responses={200: BusinessCalendarSerializer, **WRITE_ERRORS},
        summary="Update a business calendar (ADMIN)",
    ),
    destroy=extend_schema(responses={204: None}, summary="Delete a business calendar (ADMIN)"),
)
class BusinessCalendarViewSet(TenantScopedMixin, viewsets.GenericViewSet):
    permission_classes = [IsAdminOrReadOnly]
    serializer_class = BusinessCalendarSerializer
    # The schema's model look-up only (filters, path types); requests use `self.tenant`.
    queryset = BusinessCalendar.objects.none()
    filterset_class = BusinessCalendarFilter
    # Looked up before the body is read: another tenant's calendar is a 404 whatever the body.
    path_model = BusinessCalendar

    def get_queryset(self) -> Any:
        return selectors.calendar_list(tenant=self.tenant)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(BusinessCalendarSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: int) -> Response:
        calendar = selectors.calendar_get(tenant=self.tenant, calendar_id=pk)
        return Response(BusinessCalendarSerializer(calendar).data)

    def create(self, request: Request) -> Response:
        data = BusinessCalendarInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        calendar = services.calendar_create(
            tenant=self.tenant, data=dict(data.validated_data), actor=request.user
        )
        return Response(BusinessCalendarSerializer(calendar).data, status=status.HTTP_201_CREATED)

    def _update(self, request: Request, pk: int, *, partial: bool) -> Response:
        calendar = selectors.calendar_get(tenant=self.tenant, calendar_id=pk)
        data = BusinessCalendarInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        calendar = services.calendar_update(
            tenant=self.tenant,
            calendar=calendar,
            data=dict(data.validated_data),
            actor=request.user,
            replace=not partial,
        )
        return Response(BusinessCalendarSerializer(calendar).data)

    def update(self, request: Request, pk: int) -> Response:
        return self._update(request, pk, partial=False)

    def partial_update(self, request: Request, pk: int) -> Response:
        return self._update(request, pk, partial=True)

    def destroy(self, request: Request, pk: int) -> Response:
        calendar = selectors.calendar_get(tenant=self.tenant, calendar_id=pk)
        services.calendar_delete(tenant=self.tenant, calendar=calendar, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
