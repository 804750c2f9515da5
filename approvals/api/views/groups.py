"""Security groups and their members."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from approvals import selectors, services
from approvals.api.envelope import (
    error_responses,
    page_schema,
    success,
    success_page,
    success_schema,
)
from approvals.api.serializers import (
    SecurityGroupInputSerializer,
    SecurityGroupMemberInputSerializer,
    SecurityGroupMemberSerializer,
    SecurityGroupSerializer,
)
from approvals.api.views.base import (
    MESSAGE,
    READ_ERRORS,
    TAG,
    WRITE_ERRORS,
    ApprovalsView,
    valid,
)
from approvals.models import SecurityGroup

GROUP = SecurityGroupSerializer()
GROUP_MESSAGE_RESPONSE = success_schema(
    "SecurityGroupMessageEnvelope", message=MESSAGE, security_group=GROUP
)


@extend_schema_view(
    list=extend_schema(
        tags=TAG,
        summary="List security groups (paginated)",
        responses={
            200: page_schema(
                "SecurityGroupPageEnvelope", "security_groups", SecurityGroupSerializer(many=True)
            ),
            **READ_ERRORS,
        },
    ),
    create=extend_schema(
        tags=TAG,
        summary="Create a security group",
        request=SecurityGroupInputSerializer,
        responses={201: GROUP_MESSAGE_RESPONSE, **WRITE_ERRORS},
    ),
    retrieve=extend_schema(
        tags=TAG,
        summary="Security group detail",
        responses={
            200: success_schema("SecurityGroupEnvelope", security_group=GROUP),
            **READ_ERRORS,
        },
    ),
    update=extend_schema(
        tags=TAG,
        summary="Update a security group",
        request=SecurityGroupInputSerializer,
        responses={200: GROUP_MESSAGE_RESPONSE, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        tags=TAG,
        summary="Update some fields of a security group",
        request=SecurityGroupInputSerializer,
        responses={200: GROUP_MESSAGE_RESPONSE, **WRITE_ERRORS},
    ),
    destroy=extend_schema(
        tags=TAG,
        summary="Delete a security group and its assignments (409 if it has transfers)",
        responses={
            200: success_schema("SecurityGroupDeleteEnvelope", message=MESSAGE),
            **WRITE_ERRORS,
            **error_responses(409),
        },
    ),
)
class SecurityGroupViewSet(ApprovalsView, viewsets.GenericViewSet):
    """`/api/approvals/security-groups/` and `/{id}/`."""

    serializer_class = SecurityGroupSerializer

    def get_queryset(self) -> Any:
        if self.swagger_fake_view:
            return SecurityGroup.objects.none()
        return selectors.group_list(tenant=self.tenant)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return success_page(
            view=self, key="security_groups", data=SecurityGroupSerializer(page, many=True).data
        )

    def create(self, request: Request) -> Response:
        data = valid(SecurityGroupInputSerializer, request.data)
        group = services.group_create(tenant=self.tenant, **data, actor=request.user)
        group = selectors.group_get(tenant=self.tenant, group_id=group.pk)
        return success(
            status_code=status.HTTP_201_CREATED,
            message="Security group created successfully",
            security_group=SecurityGroupSerializer(group).data,
        )

    def retrieve(self, request: Request, pk: int) -> Response:
        group = selectors.group_get(tenant=self.tenant, group_id=pk)
        return success(security_group=SecurityGroupSerializer(group).data)

    def _update(self, request: Request, pk: int, *, partial: bool) -> Response:
        group = selectors.group_get(tenant=self.tenant, group_id=pk)
        data = valid(SecurityGroupInputSerializer, request.data, partial=partial)
        group = services.group_update(
            tenant=self.tenant, group=group, data=data, actor=request.user
        )
        return success(
            message="Security group updated successfully",
            security_group=SecurityGroupSerializer(group).data,
        )

    def update(self, request: Request, pk: int) -> Response:
        return self._update(request, pk, partial=False)

    def partial_update(self, request: Request, pk: int) -> Response:
        return self._update(request, pk, partial=True)

    def destroy(self, request: Request, pk: int) -> Response:
        group = selectors.group_get(tenant=self.tenant, group_id=pk)
        services.group_delete(tenant=self.tenant, group=group, actor=request.user)
        return success(message=f'Deleted security group "{group.name}"')


MEMBER = SecurityGroupMemberSerializer()
GROUP_PARAM = OpenApiParameter("group_id", int, OpenApiParameter.PATH)
USER_PARAM = OpenApiParameter("user_id", int, OpenApiParameter.PATH)


@extend_schema_view(
    list=extend_schema(
        tags=TAG,
        parameters=[GROUP_PARAM],
        summary="List a security group's members (paginated)",
        responses={
            200: page_schema(
                "SecurityGroupMemberPageEnvelope",
                "members",
                SecurityGroupMemberSerializer(many=True),
            ),
            **READ_ERRORS,
        },
    ),
    create=extend_schema(
        tags=TAG,
        parameters=[GROUP_PARAM],
        summary="Add a user of your tenant to a security group",
        request=SecurityGroupMemberInputSerializer,
        responses={
            201: success_schema("SecurityGroupMemberEnvelope", message=MESSAGE, member=MEMBER),
            **WRITE_ERRORS,
        },
    ),
    destroy=extend_schema(
        tags=TAG,
        parameters=[GROUP_PARAM, USER_PARAM],
        summary="Remove a user from a security group",
        responses={
            200: success_schema("SecurityGroupMemberDeleteEnvelope", message=MESSAGE),
            **WRITE_ERRORS,
        },
    ),
)
class SecurityGroupMemberViewSet(ApprovalsView, viewsets.GenericViewSet):
    """`/api/approvals/security-groups/{group_id}/members/` and `/{user_id}/`."""

    serializer_class = SecurityGroupMemberSerializer

    def _group(self, group_id: int) -> Any:
        return selectors.group_get(tenant=self.tenant, group_id=group_id)

    def get_queryset(self) -> Any:
        if self.swagger_fake_view:
            return get_user_model().objects.none()
        return selectors.group_member_list(
            tenant=self.tenant, group=self._group(self.kwargs["group_id"])
        )

    def list(self, request: Request, group_id: int) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return success_page(
            view=self, key="members", data=SecurityGroupMemberSerializer(page, many=True).data
        )

    def create(self, request: Request, group_id: int) -> Response:
        group = self._group(group_id)
        data = valid(SecurityGroupMemberInputSerializer, request.data)
        user = services.group_member_add(
            tenant=self.tenant, group=group, user_id=data["user"], actor=request.user
        )
        return success(
            status_code=status.HTTP_201_CREATED,
            message=f'Added "{user.email}" to security group "{group.name}"',
            member=SecurityGroupMemberSerializer(user).data,
        )

    def destroy(self, request: Request, group_id: int, user_id: int) -> Response:
        group = self._group(group_id)
        user = services.group_member_remove(
            tenant=self.tenant, group=group, user_id=user_id, actor=request.user
        )
        return success(message=f'Removed "{user.email}" from security group "{group.name}"')
