"""The action registry: the one way to add an action, built-in or a project's own.

An action is a key (the Step's `action`), a kind (a person decides, or a worker runs it) and
its step kind (what the engine does with it: `kinds`), a config serializer that validates the
Step's `config`, and for human actions a form serializer that validates what the person
submits. Automated actions also carry a handler.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from rest_framework import serializers

from workflows.engine.retry import DEFAULT as DEFAULT_RETRY
from workflows.engine.retry import RetryPolicy


class ActionKind(models.TextChoices):
    HUMAN = "human", "Human"
    AUTOMATED = "automated", "Automated"


class StrictSerializer(serializers.Serializer):
    """Rejects keys it does not know, so a typo in a config is a 400, not a silent no-op."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        key: ["Unknown key. Allowed: " + ", ".join(sorted(self.fields)) + "."]
                        for key in unknown
                    }
                )
        return super().to_internal_value(data)


class EmptyConfigSerializer(StrictSerializer):
    """For actions that take no configuration."""


@dataclass(frozen=True)
class ActionSpec:
    key: str
    kind: ActionKind
    label: str
    description: str = ""
    config_serializer: type[serializers.Serializer] = EmptyConfigSerializer
    form_serializer: type[serializers.Serializer] | None = None
    handler: Callable[..., dict[str, Any]] | None = None
    # Which human outcomes this action offers: approve/reject, or complete with a form.
    decisions: tuple[str, ...] = field(default=("complete",))
    # Automated actions: back-off and attempts (a step's `max_attempts` config overrides them).
    retry: RetryPolicy = DEFAULT_RETRY
    # Its step kind (see `kinds`): "vote", "form", "automated" or a project's own; by
    # default "automated" for an automated action, else "form".
    step_kind: str = ""

    def __post_init__(self) -> None:
        if not self.step_kind:
            default = "automated" if self.kind == ActionKind.AUTOMATED else "form"
            object.__setattr__(self, "step_kind", default)

    @property
    def is_human(self) -> bool:
        return self.kind == ActionKind.HUMAN

    def config_defaults(self) -> dict[str, Any]:
        """What a config that leaves a key out gets (a step with no config gets all of it)."""
        out: dict[str, Any] = {}
        for name, field_ in self.config_serializer().fields.items():
            default = field_.default
            if default is not serializers.empty:
                out[name] = default() if callable(default) else default
        return out

    def config_required(self) -> list[str]:
        """Keys with no default: a config without one is a 400 naming it."""
        return [n for n, f in self.config_serializer().fields.items() if f.required]


class ActionRegistry:
    def __init__(self) -> None:
        self._actions: dict[str, ActionSpec] = {}

    def register(self, spec: ActionSpec) -> ActionSpec:
        if spec.key in self._actions:
            raise ValueError(f"Action {spec.key!r} is already registered")
        self._actions[spec.key] = spec
        return spec

    def unregister(self, key: str) -> None:
        self._actions.pop(key, None)

    def get(self, key: str) -> ActionSpec | None:
        return self._actions.get(key)

    def keys(self) -> list[str]:
        return sorted(self._actions)

    def all(self) -> list[ActionSpec]:
        return [self._actions[k] for k in self.keys()]

    def validate_config(
        self, key: str, config: Any, *, context: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Returns the cleaned config, or raises ValidationError keyed by `action`/`config`."""
        spec = self.get(key)
        if spec is None:
            raise serializers.ValidationError(
                {"action": [f"Unknown action '{key}'. Known actions: {', '.join(self.keys())}."]}
            )
        if config is None:
            config = {}
        if not isinstance(config, dict):
            raise serializers.ValidationError({"config": ["Must be a JSON object."]})
        serializer = spec.config_serializer(data=config, context=context or {})
        if not serializer.is_valid():
            raise serializers.ValidationError({"config": serializer.errors})
        return dict(serializer.validated_data)


registry = ActionRegistry()


def register_action(spec: ActionSpec) -> ActionSpec:
    """Register an action; projects call this from their AppConfig.ready()."""
    return registry.register(spec)
