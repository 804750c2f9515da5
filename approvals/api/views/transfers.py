"""Transfers (`/api/approvals/transfers/`): create, list, detail with chain, decide, cancel."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsTenantMember
from approvals import selectors
from approvals.api.envelope import error_responses, page_schema, success, success_schema
from approvals.api.serializers import MAX_ID
from approvals.models import Transfer, TransferStatus
from approvals.services import transfers as transfer_services
from core.api.fields import DecimalField, IntegerField, StorableDictField
from core.api.rendering import RowRenderer, Timestamp, iso_timestamps
from core.api.schema import PAGE_PARAMETERS
from core.api.views import TenantScopedMixin
from core.db_router import replica_reads
from core.idempotency import idempotent


class ChainDecisionSerializer(serializers.Serializer):
    step = serializers.IntegerField()
    decision = serializers.CharField()
    decided_by = serializers.IntegerField(allow_null=True)
    on_behalf_of = serializers.IntegerField(
        allow_null=True,
        help_text="The approver a delegate decided for (out-of-office delegation), else null.",
    )
    decided_at = serializers.DateTimeField()
    comment = serializers.CharField(allow_blank=True)


class ChainStepSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    action = serializers.CharField()


class ChainItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    execution_order = serializers.IntegerField()
    workflow_template = serializers.IntegerField(allow_null=True)
    workflow_template_code = serializers.CharField(allow_null=True)
    workflow_template_name = serializers.CharField()
    status = serializers.CharField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    current_step = ChainStepSerializer(allow_null=True)
    decisions = ChainDecisionSerializer(many=True)


def render_chain(
    chain: list[dict[str, Any]], timestamp: Timestamp | None = None
) -> list[dict[str, Any]]:
    """`ChainItemSerializer(chain, many=True).data`, built directly: the selector's dicts hold
    their final types already but the timestamps, and nested serializers took 1.3 ms per
    transfer of a list page (approvals/tests/test_decision_response.py keeps the two equal)."""
    _timestamp = timestamp or iso_timestamps()
    return [
        {
            **item,
            "started_at": _timestamp(item["started_at"]),
            "finished_at": _timestamp(item["finished_at"]),
            "decisions": [
                {**decision, "decided_at": _timestamp(decision["decided_at"])}
                for decision in item["decisions"]
            ],
        }
        for item in chain
    ]


# What a transfer answer is (the OpenAPI schema); `render_transfers` writes it.
class TransferSerializer(serializers.ModelSerializer):
    security_group_name = serializers.CharField(source="security_group.name", read_only=True)
    chain = serializers.SerializerMethodField()

    class Meta:
        model = Transfer
        fields = [
            "id",
            "reference",
            "security_group",
            "security_group_name",
            "transfer_type",
            "amount",
            "currency",
            "description",
            "payload",
            "status",
            "created_by",
            "created_at",
            "updated_at",
            "finished_at",
            "chain",
        ]
        read_only_fields = fields

    @extend_schema_field(ChainItemSerializer(many=True))
    def get_chain(self, transfer: Transfer) -> list[dict[str, Any]]:
        return render_chain(self.context.get("chains", {}).get(transfer.pk, []))


class TransferCreateInputSerializer(serializers.Serializer):
    security_group = IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        help_text="Your security group; may be left out if you belong to exactly one.",
    )
    transfer_type = serializers.RegexField(r"^[A-Za-z0-9_.-]+$", max_length=32)
    reference = serializers.CharField(max_length=64)
    amount = DecimalField(max_digits=18, decimal_places=2, min_value=Decimal("0.01"))
    currency = serializers.RegexField(
        r"^[A-Za-z]{3}$", error_messages={"invalid": "A three-letter ISO 4217 code."}
    )
    description = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, default=""
    )
    payload = StorableDictField(required=False, default=dict)


class TransferApproveInputSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class TransferRejectInputSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=5000)


class TransferListFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=TransferStatus.choices, required=False)
    transfer_type = serializers.CharField(max_length=32, required=False)
    security_group = IntegerField(min_value=1, max_value=MAX_ID, required=False)
    mine = serializers.BooleanField(required=False, default=False)
    awaiting_me = serializers.BooleanField(required=False, default=False)


TRANSFER_ENVELOPE = success_schema("TransferEnvelope", transfer=TransferSerializer())
TRANSFER_DECISION_ENVELOPE = success_schema(
    "TransferDecisionEnvelope", message=serializers.CharField(), transfer=TransferSerializer()
)
TRANSFER_PAGE = page_schema("TransferPageEnvelope", "transfers", TransferSerializer(many=True))


_TRANSFER_ROWS = RowRenderer(TransferSerializer)


def render_transfers(
    transfers: list[Transfer], chains: dict[int, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """`TransferSerializer(transfers, many=True, context={"chains": chains}).data`, faster
    (core.api.rendering; approvals/tests/test_decision_response.py keeps them equal)."""
    return _TRANSFER_ROWS.render(
        transfers,
        {"chain": lambda transfer, timestamp: render_chain(chains.get(transfer.pk, []), timestamp)},
    )


def read_and_render(tenant: Any, transfer_id: int) -> tuple[Transfer, dict[str, Any]]:
    """The transfer as an answer shows it (detail, commands), read in one query."""
    transfer, chain = selectors.transfer_with_chain(tenant=tenant, transfer_id=transfer_id)
    return transfer, render_transfers([transfer], {transfer.pk: chain})[0]


@replica_reads  # the list (GET); creating one (POST) is on the primary
class TransferListCreateView(TenantScopedMixin, generics.GenericAPIView):
    permission_classes = [IsTenantMember]
    serializer_class = TransferSerializer

    @extend_schema(
        parameters=[TransferListFilterSerializer, *PAGE_PARAMETERS],
        responses={200: TRANSFER_PAGE, **error_responses(400, 401, 404)},
        summary="List transfers, newest first",
        operation_id="approvals_transfers_list",
    )
    def get(self, request: Request) -> Response:
        filters = TransferListFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        transfers = selectors.transfer_list(
            tenant=self.tenant, user=request.user, filters=filters.validated_data
        )
        page = list(self.paginate_queryset(transfers))  # type: ignore[arg-type]
        data = render_transfers([t for t, _ in page], {t.pk: chain for t, chain in page})
        paginator = self.paginator
        return success(
            count=paginator.page.paginator.count,
            next=paginator.get_next_link(),
            previous=paginator.get_previous_link(),
            transfers=data,
        )

    @extend_schema(
        request=TransferCreateInputSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        responses={201: TRANSFER_ENVELOPE, **error_responses(400, 401, 403)},
        summary="Create a transfer and start its approval chain",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = TransferCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        transfer = transfer_services.transfer_create(
            tenant=self.tenant,
            security_group_id=values.pop("security_group", None),
            **values,
            actor=request.user,
        )
        _, data = read_and_render(self.tenant, transfer.pk)
        return success(status_code=status.HTTP_201_CREATED, transfer=data)


class TransferDetailView(TenantScopedMixin, APIView):
    permission_classes = [IsTenantMember]

    @extend_schema(
        responses={200: TRANSFER_ENVELOPE, **error_responses(401, 404)},
        summary="A transfer with its chain",
    )
    def get(self, request: Request, pk: int) -> Response:
        _, data = read_and_render(self.tenant, pk)
        return success(transfer=data)


class _TransferCommandView(TenantScopedMixin, APIView):
    permission_classes = [IsTenantMember]
    path_model = Transfer
    input_serializer: Any = TransferApproveInputSerializer

    def act(self, request: Request, pk: int, comment: str) -> str:
        """Calls the service; returns the verb for the message."""
        raise NotImplementedError

    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        verb = self.act(request, pk, data.validated_data["comment"])
        transfer, rendered = read_and_render(self.tenant, pk)
        return success(message=_message(transfer, verb), transfer=rendered)


COMMAND_SCHEMA = {
    "parameters": [OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
    "responses": {
        200: TRANSFER_DECISION_ENVELOPE,
        **error_responses(400, 401, 403, 404),
        **error_responses(409, 422),
    },
}


@extend_schema(
    request=TransferApproveInputSerializer, summary="Approve the current step", **COMMAND_SCHEMA
)
class TransferApproveView(_TransferCommandView):
    def act(self, request: Request, pk: int, comment: str) -> str:
        transfer_services.transfer_decide(
            tenant=self.tenant,
            transfer_id=pk,
            decision="approve",
            comment=comment,
            actor=request.user,
        )
        return "approved"


@extend_schema(
    request=TransferRejectInputSerializer,
    summary="Reject the current step (comment required)",
    **COMMAND_SCHEMA,
)
class TransferRejectView(_TransferCommandView):
    input_serializer = TransferRejectInputSerializer

    def act(self, request: Request, pk: int, comment: str) -> str:
        transfer_services.transfer_decide(
            tenant=self.tenant,
            transfer_id=pk,
            decision="reject",
            comment=comment,
            actor=request.user,
        )
        return "rejected"


@extend_schema(
    request=TransferApproveInputSerializer, summary="Cancel a pending transfer", **COMMAND_SCHEMA
)
class TransferCancelView(_TransferCommandView):
    def act(self, request: Request, pk: int, comment: str) -> str:
        transfer_services.transfer_cancel(
            tenant=self.tenant, transfer_id=pk, comment=comment, actor=request.user
        )
        return "cancelled"


def _message(transfer: Transfer, verb: str) -> str:
    if transfer.status == TransferStatus.PENDING:
        return f'Decision recorded: {verb}; transfer "{transfer.reference}" is still pending'
    return f'Transfer "{transfer.reference}" {transfer.status}'
