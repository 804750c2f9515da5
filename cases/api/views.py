"""Cases (`/api/cases/`): CRUD with filters and search, and starting a workflow on a case."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import selectors, services
from cases.api.serializers import (
    CaseCreateInputSerializer,
    CaseDetailSerializer,
    CaseErrorSerializer,
    CaseListFilterSerializer,
    CaseRunStartInputSerializer,
    CaseSerializer,
    CaseUpdateInputSerializer,
)
from cases.models import Case
from cases.permissions import CasePermission
from core.api.views import TenantScopedMixin
from core.idempotency import idempotent
from workflows.api.run_serializers import RunDetailSerializer
from workflows.api.runs import run_detail_data

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="A retry with the same key returns the first answer instead of acting again.",
)


def _error(description: str, schema: Any = CaseErrorSerializer) -> OpenApiResponse:
    return OpenApiResponse(response=schema, description=description)


ERRORS = {
    400: _error(
        "Invalid input: each field named, with its rules, e.g. "
        '`{"title": ["This field is required."]}`.',
        OpenApiTypes.OBJECT,
    ),
    401: _error("No or invalid token."),
    403: _error("Your role may not do this."),
    404: _error("No such case in your tenant."),
    409: _error("The case is closed, or a request with this Idempotency-Key is in progress."),
    422: _error("This Idempotency-Key was used with a different request."),
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: ERRORS[code] for code in codes}


def render_case(tenant: Any, case: Case) -> dict[str, Any]:
    runs = selectors.case_runs(tenant=tenant, case=case)
    return CaseDetailSerializer(case, context={"runs": runs}).data


class CaseListCreateView(TenantScopedMixin, generics.GenericAPIView):
    """`GET` lists the tenant's cases, newest first; `POST` opens one."""

    permission_classes = [CasePermission]
    serializer_class = CaseSerializer
    queryset = Case.objects.none()  # for the schema generator; requests use the selectors

    @extend_schema(
        parameters=[CaseListFilterSerializer],
        responses={200: CaseSerializer(many=True), **errors(400, 401)},
        summary="List cases, newest first",
    )
    def get(self, request: Request) -> Response:
        filters = CaseListFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = selectors.case_list(tenant=self.tenant, filters=filters.validated_data)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(CaseSerializer(page, many=True).data)

    @extend_schema(
        request=CaseCreateInputSerializer,
        responses={201: CaseDetailSerializer, **errors(400, 401, 403)},
        summary="Open a case",
    )
    def post(self, request: Request) -> Response:
        data = CaseCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = services.case_create(
            tenant=self.tenant, **data.to_service_kwargs(), actor=request.user
        )
        case = selectors.case_get(tenant=self.tenant, case_id=case.pk)
        return Response(render_case(self.tenant, case), status=status.HTTP_201_CREATED)


class CaseDetailView(TenantScopedMixin, APIView):
    """One case with its runs; `PUT`/`PATCH` change it, `DELETE` removes it."""

    permission_classes = [CasePermission]

    @extend_schema(
        responses={200: CaseDetailSerializer, **errors(401, 404)},
        summary="A case with its runs",
    )
    def get(self, request: Request, pk: int) -> Response:
        case = selectors.case_get(tenant=self.tenant, case_id=pk)
        return Response(render_case(self.tenant, case))

    def _update(self, request: Request, pk: int, *, partial: bool) -> Response:
        selectors.case_get(tenant=self.tenant, case_id=pk)  # 404 before judging the body
        data = CaseUpdateInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        services.case_update(
            tenant=self.tenant, case_id=pk, data=data.to_service_kwargs(), actor=request.user
        )
        case = selectors.case_get(tenant=self.tenant, case_id=pk)
        return Response(render_case(self.tenant, case))

    @extend_schema(
        request=CaseUpdateInputSerializer,
        responses={200: CaseDetailSerializer, **errors(400, 401, 403, 404)},
        summary="Replace a case's fields (title required; fields left out keep their value)",
    )
    def put(self, request: Request, pk: int) -> Response:
        return self._update(request, pk, partial=False)

    @extend_schema(
        request=CaseUpdateInputSerializer,
        responses={200: CaseDetailSerializer, **errors(400, 401, 403, 404)},
        summary="Change some of a case's fields",
    )
    def patch(self, request: Request, pk: int) -> Response:
        return self._update(request, pk, partial=True)

    @extend_schema(
        responses={204: None, **errors(401, 403, 404)},
        summary="Delete a case (SUPERVISOR, ADMIN); its running runs are cancelled",
    )
    def delete(self, request: Request, pk: int) -> Response:
        services.case_delete(tenant=self.tenant, case_id=pk, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CaseRunStartView(TenantScopedMixin, APIView):
    """`POST /api/cases/{id}/runs/`: answers with the run exactly as `GET /api/runs/{id}/` does."""

    permission_classes = [CasePermission]
    path_model = Case

    @extend_schema(
        request=CaseRunStartInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: RunDetailSerializer,
            **errors(400, 401, 403, 404, 409, 422),
        },
        summary="Start a workflow on a case",
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        data = CaseRunStartInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = services.case_start_run(
            tenant=self.tenant,
            case_id=pk,
            workflow_id=data.validated_data["workflow"],
            actor=request.user,
        )
        return Response(run_detail_data(self.tenant, run.pk), status=status.HTTP_201_CREATED)
