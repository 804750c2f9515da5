"""Keys that carry tenant_id, so the schema distributes by tenant (Citus) as it is: README
"Scaling out", checked by tests/test_tenant_keys.py.

Django's model state keeps `id` as each model's primary key; only the database differs, on
PostgreSQL: the primary key is `(tenant_id, id)`, a plain index on `id` serves the lookups by
id alone (`Model.save()`, `filter(pk=...)`, the platform role's and the poller's queries,
joins on `x.id = y.x_id`: the row-level security policy's tenant test is OR'ed with the
platform role's, so it never becomes an index condition), and a foreign key between two
tenant tables is `(tenant_id, x_id) REFERENCES parent (tenant_id, id)`, so a row can never
point at another tenant's row. The model's ForeignKey says `db_constraint=False` (Django
cannot express that key) and the migration that adds the field adds the key with
`foreign_key()`. SQLite (`make run`) keeps Django's plain keys.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.models import Model

# Reference tables under Citus (copied to every node), keyed by id alone: read before a tenant
# is known (login by email; platform staff have no tenant), small, written rarely.
REFERENCE_TABLES = {"accounts_user", "tenants_tenant"}


class PostgreSQLOnly(migrations.RunSQL):
    """RunSQL, both ways, on PostgreSQL only; nothing on SQLite."""

    def database_forwards(self, app_label: str, schema_editor: Any, *args: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, *args)

    def database_backwards(self, app_label: str, schema_editor: Any, *args: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, *args)


def primary_key(table: str, *, id_index: bool = True, also: str = "") -> PostgreSQLOnly:
    """PRIMARY KEY (tenant_id, id[, also]) instead of (id[, also]); `also`: a partitioned
    table's partition column. `id_index`: keep a plain index on id for lookups by id alone
    (leave it out only where every query names the tenant)."""
    tail = f", {also}" if also else ""
    forward = [
        f'ALTER TABLE "{table}" DROP CONSTRAINT "{table}_pkey", '
        f'ADD CONSTRAINT "{table}_pkey" PRIMARY KEY (tenant_id, id{tail})'
    ]
    reverse = [
        f'ALTER TABLE "{table}" DROP CONSTRAINT "{table}_pkey", '
        f'ADD CONSTRAINT "{table}_pkey" PRIMARY KEY (id{tail})'
    ]
    if id_index:
        forward.append(f'CREATE INDEX "{table}_id_idx" ON "{table}" (id)')
        reverse.insert(0, f'DROP INDEX "{table}_id_idx"')
    return PostgreSQLOnly(forward, reverse, elidable=False)


def foreign_key_name(table: str, column: str) -> str:
    return f"{table}_{column}_fk"


def foreign_key(table: str, column: str, target: str) -> PostgreSQLOnly:
    """(tenant_id, column) REFERENCES target (tenant_id, id), checked at commit like Django's
    own keys; the field itself has db_constraint=False. Needs target's (tenant_id, id) key."""
    name = foreign_key_name(table, column)
    return PostgreSQLOnly(
        f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" FOREIGN KEY (tenant_id, "{column}") '
        f'REFERENCES "{target}" (tenant_id, id) DEFERRABLE INITIALLY DEFERRED',
        f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"',
        elidable=False,
    )


def is_distributed(model: type[Model]) -> bool:
    return model._meta.db_table not in REFERENCE_TABLES and any(
        field.column == "tenant_id" for field in model._meta.concrete_fields
    )


def group_by_whole_rows() -> None:
    """Django groups an annotated query (`annotate(n=Count(...))`) by the model's id alone where
    the database lets the other columns follow the primary key (PostgreSQL). A tenant model's
    primary key is (tenant_id, id) there, so PostgreSQL refuses that GROUP BY: for those
    models, Django groups by every selected column instead (core.apps, at start-up)."""
    try:
        from django.db.backends.postgresql.features import DatabaseFeatures
    except ImportError:  # no psycopg: SQLite only
        return
    original = DatabaseFeatures.allows_group_by_selected_pks_on_model
    if getattr(original, "tenant_keys", False):
        return

    def allows(self: Any, model: type[Model]) -> bool:
        return original(self, model) and not is_distributed(model)

    allows.tenant_keys = True  # type: ignore[attr-defined]
    DatabaseFeatures.allows_group_by_selected_pks_on_model = allows  # type: ignore[method-assign]
