"""A tenant's data, found from the app registry: what `tenant_export` writes and
`tenant_delete` removes.

Tenant tables are the models with a `tenant_id` column (as `core.rls.tenant_tables` finds
them), so this module imports no app above `tenants` and a new app's tables are covered
without a change here. Dependent rows are those of models without `tenant_id` that reference
a tenant row (JWT refresh tokens, the admin log, a user's group memberships): they go with
their user.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.db import models

from core.audit import AUDIT_TABLE

# Never exported: credentials and anything that may hold one. The password hash, a webhook
# subscription's signing secret, the tenant's own webhook secret, and a replayed API answer
# (an idempotent POST that created a subscription or rotated its secret shows the secret).
SECRET_COLUMNS: dict[str, frozenset[str]] = {
    "accounts_user": frozenset({"password"}),
    "workflows_webhooksubscription": frozenset({"secret"}),
    "tenants_tenant": frozenset({"webhook_secret"}),
    "core_idempotencyrecord": frozenset({"response_body"}),
}

# The audit trail is append-only history that outlives the tenant's rows (core.audit): neither
# exported (GET /api/audit-log/ reads it) nor deleted.
KEPT_TABLES = frozenset({AUDIT_TABLE})


def _concrete_models() -> list[type[models.Model]]:
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    ]


def _has_tenant_column(model: type[models.Model]) -> bool:
    return any(f.column == "tenant_id" for f in model._meta.concrete_fields)


def tenant_models() -> list[type[models.Model]]:
    """Every model with a `tenant_id` column but the audit trail, referenced rows first."""
    found = {
        model
        for model in _concrete_models()
        if _has_tenant_column(model) and model._meta.db_table not in KEPT_TABLES
    }
    graph: dict[type[models.Model], set[type[models.Model]]] = {}
    for model in sorted(found, key=lambda m: m._meta.db_table):
        graph[model] = {
            f.related_model
            for f in model._meta.concrete_fields
            if f.is_relation and f.related_model in found and f.related_model is not model
        }
    return list(graphlib.TopologicalSorter(graph).static_order())


def dependent_querysets(tenant_id: int) -> list[tuple[type[models.Model], models.QuerySet]]:
    """Rows of models without `tenant_id` that hang off a tenant row, deepest first."""
    tenant_model = apps.get_model("tenants", "Tenant")
    roots = {*tenant_models(), tenant_model}
    # model -> ORM path from it to a tenant id, found breadth-first from the tenant tables.
    paths: dict[type[models.Model], str] = {}
    frontier = {model: ("tenant_id" if model is not tenant_model else "pk") for model in roots}
    while frontier:
        found: dict[type[models.Model], str] = {}
        for model in _concrete_models():
            if model in roots or model in paths or model in found:
                continue
            for field in model._meta.concrete_fields:
                if field.is_relation and field.related_model in frontier:
                    found[model] = f"{field.name}__{frontier[field.related_model]}"
                    break
        paths.update(found)
        frontier = found
    ordered = sorted(paths.items(), key=lambda item: (-item[1].count("__"), item[0]._meta.label))
    return [(model, model._base_manager.filter(**{path: tenant_id})) for model, path in ordered]


def exported_columns(model: type[models.Model]) -> list[tuple[str, str]]:
    """(attname, column) of the fields written to an export, secrets left out."""
    secret = SECRET_COLUMNS.get(model._meta.db_table, frozenset())
    return [(f.attname, f.column) for f in model._meta.concrete_fields if f.column not in secret]


def rows_of(model: type[models.Model], lookup: dict[str, Any], chunk_size: int) -> Iterator[dict]:
    """A model's rows as {column: value}, by primary key, streamed from a server-side cursor."""
    columns = exported_columns(model)
    queryset = model._base_manager.filter(**lookup).order_by("pk")
    for values in queryset.values(*[attname for attname, _ in columns]).iterator(chunk_size):
        yield {column: values[attname] for attname, column in columns}
