"""`GET /api/actions/`: what the registry offers, for editors building workflows."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsTenantMember
from workflows.engine.registry import registry


class ActionSerializer(serializers.Serializer):
    key = serializers.CharField()
    kind = serializers.CharField()
    label = serializers.CharField()
    description = serializers.CharField()
    decisions = serializers.ListField(child=serializers.CharField())
    config_fields = serializers.ListField(child=serializers.CharField())
    config_required = serializers.ListField(child=serializers.CharField())
    config_defaults = serializers.DictField()
    form_fields = serializers.ListField(child=serializers.CharField())


class ActionListView(APIView):
    permission_classes = [IsTenantMember]

    @extend_schema(responses={200: ActionSerializer(many=True)}, summary="The action registry")
    def get(self, request: Request) -> Response:
        items = [
            {
                "key": spec.key,
                "kind": str(spec.kind),
                "label": spec.label,
                "description": spec.description,
                "decisions": list(spec.decisions),
                "config_fields": list(spec.config_serializer().fields),
                "config_required": spec.config_required(),
                "config_defaults": spec.config_defaults(),
                "form_fields": list(spec.form_serializer().fields) if spec.form_serializer else [],
            }
            for spec in registry.all()
        ]
        return Response(ActionSerializer(items, many=True).data)
