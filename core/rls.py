"""Row-level security: PostgreSQL's second wall behind the application's tenant scoping.

Every tenant-owned table gets a policy that shows (and accepts) only rows whose `tenant_id`
is the transaction's `app.tenant_id` (see `core.tenancy`); an empty setting is no tenant, so
no rows. `FORCE` makes the table owner obey it too. The application's database role
(`DB_APP_ROLE`, default `workflows_app`) owns no tables, is neither superuser nor BYPASSRLS,
and has SELECT/INSERT/UPDATE/DELETE only (no TRUNCATE). Migrations run as the owner.

Cross-tenant platform work (the outbox relay, a worker finding a step run's tenant, management
commands) sees every row only while the current role *is* the platform role
(`DB_PLATFORM_ROLE`, default `workflows_platform`, a member of the application role, no
BYPASSRLS). Becoming it takes `SET ROLE`, which PostgreSQL allows only to sessions whose login
is a member of it: a login that is a member of the application role alone (the API's) cannot
turn the bypass on, whatever settings it changes. (The bypass used to be a setting,
`app.rls_bypass`, that any session could set.)

A new tenant-owned table enables RLS in its own migration with `EnableRowLevelSecurity`;
`core/tests/test_rls.py` fails for any table with a `tenant_id` column that does not.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import migrations

# Identity tables the login needs before any tenant is known: not behind the policy.
EXEMPT_TABLES = {"accounts_user"}

# Each side is a scalar subquery, so PostgreSQL evaluates it once per statement (an InitPlan)
# instead of once per row: a count over 100,000 of a tenant's rows took 23 ms with the bare
# calls, 8 ms like this (migration core 0009).
TENANT_CLAUSE = "tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::bigint)"


def app_role() -> str:
    return getattr(settings, "DB_APP_ROLE", "workflows_app")


def platform_role() -> str:
    return getattr(settings, "DB_PLATFORM_ROLE", "workflows_platform")


def policy() -> str:
    # current_user, not session_user: only a SET ROLE to the platform role opens every tenant.
    return f"(SELECT current_user = '{platform_role()}'::name) OR {TENANT_CLAUSE}"


def enable_sql(table: str) -> list[str]:
    return [
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
        f'DROP POLICY IF EXISTS tenant_isolation ON "{table}"',
        f'CREATE POLICY tenant_isolation ON "{table}" USING ({policy()}) WITH CHECK ({policy()})',  # noqa: E501, S608
    ]


def partitions(cursor: Any, parents: tuple[str, ...]) -> list[str]:
    """The partitions of `parents` (each has the policy of its own; core.partitions)."""
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = ANY(%s) ORDER BY 1",
        [list(parents)],
    )
    return [name for (name,) in cursor.fetchall()]


def disable_sql(table: str) -> list[str]:
    return [
        f'DROP POLICY IF EXISTS tenant_isolation ON "{table}"',
        f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY',
    ]


def create_role(role: str) -> str:
    """PL/pgSQL: create the (powerless, NOLOGIN) role unless it exists, if the migrator may."""
    return f"""IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
            IF (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) THEN
              CREATE ROLE "{role}" NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
            ELSE
              RAISE NOTICE 'cannot create role {role}: create it and grant it by hand';
            END IF;
          END IF;"""


def role_sql(role: str, platform: str | None = None) -> list[str]:
    """The application role and its grants, then the platform role (a member of the application
    role, so it has the same grants and nothing more); created only if the migrating user may."""
    platform = platform or platform_role()
    return [
        f"""DO $$ DECLARE part name; BEGIN
          {create_role(role)}
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
            EXECUTE format('GRANT USAGE ON SCHEMA %I TO "{role}"', current_schema());
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO "{role}"', current_schema());
            EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO "{role}"', current_schema());
            EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{role}"', current_schema());
            EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO "{role}"', current_schema());
            -- The audit trail is append-only for the application (core.audit): grants above
            -- must not undo that when this runs again.
            IF to_regclass('core_auditevent') IS NOT NULL THEN
              REVOKE UPDATE, DELETE, TRUNCATE ON core_auditevent FROM "{role}";
            END IF;
            IF to_regclass('core_audittable') IS NOT NULL THEN  -- the codes events refer to
              REVOKE UPDATE, DELETE, TRUNCATE ON core_audittable FROM "{role}";
            END IF;
            -- Partitions (core.partitions) are reached through their parents only.
            FOR part IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                JOIN pg_class p ON p.oid = i.inhparent
                WHERE p.relname IN ('core_auditevent', 'workflows_statetransition') LOOP
              EXECUTE format('REVOKE ALL ON %I FROM "{role}"', part);
            END LOOP;
          END IF;
        END $$""",  # noqa: E501, S608  (role comes from settings, not from a client)
        f"""DO $$ BEGIN
          {create_role(platform)}
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{platform}')
             AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}')
             AND NOT pg_has_role('{platform}', '{role}', 'MEMBER') THEN
            GRANT "{role}" TO "{platform}";
          END IF;
        END $$""",  # noqa: S608
    ]


def tenant_tables(apps: Any) -> list[str]:
    tables = []
    for model in apps.get_models():
        if model._meta.managed and not model._meta.proxy:
            names = {f.column for f in model._meta.local_fields} | {
                f.column for f in model._meta.fields
            }
            if "tenant_id" in names and model._meta.db_table not in EXEMPT_TABLES:
                tables.append(model._meta.db_table)
    return sorted(set(tables))


class EnableRowLevelSecurity(migrations.RunPython):
    """Enable the tenant policy on every tenant table known at this point (or on `tables`)."""

    def __init__(self, tables: list[str] | None = None) -> None:
        self.tables = tables
        super().__init__(self._forward, self._backward, elidable=False)

    def _run(self, apps: Any, schema_editor: Any, build: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return  # SQLite: application-level scoping only
        with schema_editor.connection.cursor() as cursor:
            for table in self.tables or tenant_tables(apps):
                for sql in build(table):
                    cursor.execute(sql)

    def _forward(self, apps: Any, schema_editor: Any) -> None:
        self._run(apps, schema_editor, enable_sql)
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                for sql in role_sql(app_role()):
                    cursor.execute(sql)

    def _backward(self, apps: Any, schema_editor: Any) -> None:
        self._run(apps, schema_editor, disable_sql)
