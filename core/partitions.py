"""Monthly partitions of the two append-mostly histories (PostgreSQL): the audit trail and the
engine's transition log, both `PARTITION BY RANGE (created_at)`, one partition per UTC month
(`<table>_pYYYYMM`) and a `<table>_default` for anything outside them.

The job poller creates the current and the next month's partitions ahead (`ensure_ahead`, at
most once an hour per process), through `core_ensure_month_partition`, a SECURITY DEFINER
function owned by the migrating owner: only a table's owner may add partitions to it. Each
new partition gets the tenant policy (forced) and no privileges for the application role: it
is reached through its parent, whose policy and grants apply. A month that already has rows in
the default partition is skipped with a warning (the rows would break the new bounds).
"""

# ruff: noqa: S608  (the SQL here is built from this module's table names and settings' roles)
from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from django.db import connection, transaction

from core.rls import app_role, enable_sql, platform_role
from core.tenancy import set_db_context

logger = logging.getLogger(__name__)

PARTITIONED = ("core_auditevent", "workflows_statetransition")
CHECK_EVERY_S = 3600.0
_next_check = 0.0


def function_sql() -> str:
    # The tenant policy of core.rls, with the partition's name as format()'s %1$I.
    executes = "\n".join(
        "  EXECUTE format('{}', name);".format(sql.replace('"%1$s"', "%1$I").replace("'", "''"))
        for sql in enable_sql("%1$s")
    )
    tables = ", ".join(f"'{t}'" for t in PARTITIONED)
    return f"""
CREATE OR REPLACE FUNCTION core_ensure_month_partition(parent text, month date)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  name text := parent || '_p' || to_char(month, 'YYYYMM');
  lo timestamptz := date_trunc('month', month)::timestamp AT TIME ZONE 'UTC';
  hi timestamptz := (date_trunc('month', month) + interval '1 month')::timestamp
                    AT TIME ZONE 'UTC';
  busy boolean;
BEGIN
  IF parent NOT IN ({tables}) THEN
    RAISE EXCEPTION 'not a partitioned history: %', parent;
  END IF;
  IF to_regclass(name) IS NOT NULL THEN RETURN false; END IF;
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE created_at >= $1 AND created_at < $2)',
                 parent || '_default') INTO busy USING lo, hi;
  IF busy THEN
    RAISE WARNING 'partition % not created: its month has rows in %_default', name, parent;
    RETURN false;
  END IF;
  EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                 name, parent, lo, hi);
  PERFORM core_secure_partition(name);
  RETURN true;
EXCEPTION WHEN duplicate_table THEN
  RETURN false;  -- another poller made it meanwhile
END $$;

CREATE OR REPLACE FUNCTION core_secure_partition(name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
{executes}
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{app_role()}') THEN
    EXECUTE format('REVOKE ALL ON %I FROM "{app_role()}"', name);
  END IF;
END $$;

REVOKE ALL ON FUNCTION core_ensure_month_partition(text, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION core_secure_partition(text) FROM PUBLIC;
DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{platform_role()}') THEN
    GRANT EXECUTE ON FUNCTION core_ensure_month_partition(text, date) TO "{platform_role()}";
  END IF;
END $$;
"""


def months_ahead(now: datetime | None = None) -> list[date]:
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    this = today.replace(day=1)
    following = date(this.year + this.month // 12, this.month % 12 + 1, 1)
    return [this, following]


def ensure_ahead(now: datetime | None = None) -> list[str]:
    """Create this and next month's partitions if missing; returns the ones created."""
    if connection.vendor != "postgresql":
        return []
    created = []
    with connection.cursor() as cursor:
        for parent in PARTITIONED:
            for month in months_ahead(now):
                cursor.execute("SELECT core_ensure_month_partition(%s, %s)", [parent, month])
                if cursor.fetchone()[0]:
                    created.append(f"{parent}_p{month:%Y%m}")
    if created:
        logger.info("partitions created: %s", ", ".join(created))
    return created


def ensure_ahead_hourly() -> None:
    """The poller's hook, at most once an hour per process: the months ahead, then the audit
    retention. A failure is logged, not raised (the default partition takes the rows
    meanwhile; retention waits for the next hour)."""
    global _next_check  # noqa: PLW0603  (one clock per process)
    if time.monotonic() < _next_check:
        return
    _next_check = time.monotonic() + CHECK_EVERY_S
    try:
        with transaction.atomic(), as_platform():  # a savepoint inside the caller's transaction
            ensure_ahead()
    except Exception:  # noqa: BLE001  (jobs must run even if this cannot)
        logger.warning("partitions: creating next month's failed", exc_info=True)
    try:
        with transaction.atomic(), as_platform():
            expire()
    except Exception:  # noqa: BLE001  (e.g. a lock not had within lock_timeout: next hour)
        logger.warning("audit retention failed", exc_info=True)


CONTEXT = ("role", "app.tenant_id", "app.actor_id", "app.request_id")


@contextmanager
def as_platform() -> Iterator[None]:
    """The platform role for the block (only it may call the two functions), then the caller's
    role and context again: the poller runs in relay and worker processes, whose connections
    start as the application role, sometimes inside a caller's transaction."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join("current_setting(%s, true)" for _ in CONTEXT), CONTEXT)
        saved = cursor.fetchone()
    set_db_context(bypass=True)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT " + ", ".join("set_config(%s, %s, true)" for _ in CONTEXT),
                [x for pair in zip(CONTEXT, saved, strict=True) for x in (pair[0], pair[1] or "")],
            )


def partition_table(cursor, table: str, indexes: dict[str, str]) -> None:  # noqa: ANN001
    """Turn `table` into a table partitioned by month on created_at, rows kept: the primary key
    becomes (id, created_at) (a partitioned table's keys must hold the partition key), `id`
    takes a sequence (PostgreSQL 15 has no identity columns on partitioned tables) and
    `indexes` (name: columns) are made again on the parent. Then the tenant policy."""
    old = f"{table}_unpartitioned"
    cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{old}"')
    cursor.execute(f'ALTER TABLE "{old}" RENAME CONSTRAINT "{table}_pkey" TO "{old}_pkey"')
    for name in indexes:
        cursor.execute(f'ALTER INDEX "{name}" RENAME TO "{name}_unpartitioned"')
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [f'"{old}"'])
    (sequence,) = cursor.fetchone()
    if sequence:  # the identity's, dropped with the old table
        cursor.execute(f'ALTER SEQUENCE {sequence} RENAME TO "{old}_id_seq"')
    cursor.execute(
        f'CREATE TABLE "{table}" (LIKE "{old}" INCLUDING DEFAULTS) PARTITION BY RANGE (created_at)'
    )
    cursor.execute(f'CREATE SEQUENCE "{table}_id_seq" OWNED BY "{table}".id')
    cursor.execute(f"""ALTER TABLE "{table}" ALTER id SET DEFAULT nextval('"{table}_id_seq"')""")
    cursor.execute(
        f"""SELECT setval('"{table}_id_seq"', COALESCE((SELECT max(id) FROM "{old}"), 0) + 1,"""
        " false)"
    )
    cursor.execute(
        f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_pkey" PRIMARY KEY (id, created_at)'
    )
    for name, columns in indexes.items():
        cursor.execute(f'CREATE INDEX "{name}" ON "{table}" ({columns})')
    cursor.execute(f'CREATE TABLE "{table}_default" PARTITION OF "{table}" DEFAULT')
    cursor.execute("SELECT core_secure_partition(%s)", [f"{table}_default"])
    # A partition for every month the rows span, up to next month, before the rows move in.
    cursor.execute(
        f"""SELECT core_ensure_month_partition(%s, m::date) FROM generate_series(
              date_trunc('month', COALESCE((SELECT min(created_at) FROM "{old}"), now())
                                  AT TIME ZONE 'UTC'),
              date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month',
              interval '1 month') m""",
        [table],
    )
    cursor.execute(f'INSERT INTO "{table}" SELECT * FROM "{old}"')
    cursor.execute(f'DROP TABLE "{old}"')
    for sql in enable_sql(table):
        cursor.execute(sql)


# Audit retention (README "Monthly partitions"). `core_audit_expire` takes no argument: what it
# removes follows from the tenants' `audit_retention_days` (at least 30 days, a CHECK on the
# column and again here) and the server's clock, so whoever may call it can make it remove only
# what retention already says should go. Only the platform role (the poller) may call it; it
# runs as the owner, the only role the append-only trigger lets delete, and only while the
# transaction-local flag it sets around its own DELETE is on.
AUDIT_RETENTION_FLOOR_DAYS = 30


def retention_sql() -> str:
    from core.audit import insert_sql

    floor = AUDIT_RETENTION_FLOOR_DAYS
    return f"""
CREATE OR REPLACE FUNCTION core_audit_expire(OUT dropped text[], OUT deleted jsonb)
LANGUAGE plpgsql SECURITY DEFINER SET lock_timeout = '5s' AS $$
DECLARE
  forever boolean;
  longest integer;
  part record;
  tenant record;
  n bigint;
  m bigint;
  outer_tenant text := current_setting('app.tenant_id', true);
BEGIN
  dropped := '{{}}';
  deleted := '{{}}';
  -- Whole months older than every tenant's retention go with their partition, of both
  -- histories (none while any tenant keeps its trail forever, or while there is no tenant).
  SELECT bool_or(audit_retention_days IS NULL), max(audit_retention_days)
    INTO forever, longest FROM tenants_tenant;
  IF NOT forever THEN
    FOR part IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent IN ('core_auditevent'::regclass, 'workflows_statetransition'::regclass)
          AND c.relname ~ '^(core_auditevent|workflows_statetransition)_p[0-9]{{6}}$'
        ORDER BY c.relname LOOP
      IF to_date(right(part.relname, 6), 'YYYYMM') + interval '1 month'
         <= (now() AT TIME ZONE 'UTC') - make_interval(days => GREATEST(longest, {floor})) THEN
        EXECUTE format('DROP TABLE %I', part.relname);
        dropped := dropped || part.relname::text;
      END IF;
    END LOOP;
  END IF;
  -- Then each tenant's rows older than its own retention, with the append-only rule lifted
  -- for that statement only (core.audit: the flag and the owner).
  FOR tenant IN SELECT id, GREATEST(audit_retention_days, {floor}) AS days FROM tenants_tenant
      WHERE audit_retention_days IS NOT NULL ORDER BY id LOOP
    PERFORM set_config('app.tenant_id', tenant.id::text, true);  -- the forced tenant policy
    PERFORM set_config('core.audit_expiring', 'on', true);
    DELETE FROM core_auditevent
     WHERE tenant_id = tenant.id AND created_at < now() - make_interval(days => tenant.days);
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM set_config('core.audit_expiring', 'off', true);
    -- The runs' transition log (their `history`) keeps as long as the audit does.
    DELETE FROM workflows_statetransition
     WHERE tenant_id = tenant.id AND created_at < now() - make_interval(days => tenant.days);
    GET DIAGNOSTICS m = ROW_COUNT;
    n := n + m;
    IF n > 0 THEN deleted := deleted || jsonb_build_object(tenant.id::text, n); END IF;
  END LOOP;
  PERFORM set_config('app.tenant_id', COALESCE(outer_tenant, ''), true);
END $$;

DO $$ BEGIN
  EXECUTE format('ALTER FUNCTION core_audit_expire() SET search_path = %I, pg_temp',
                 current_schema());
END $$;
REVOKE ALL ON FUNCTION core_audit_expire() FROM PUBLIC;
DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{platform_role()}') THEN
    GRANT EXECUTE ON FUNCTION core_audit_expire() TO "{platform_role()}";
  END IF;
END $$;

-- A tenant's retention, set or changed, is itself an event in that tenant's audit trail.
CREATE OR REPLACE FUNCTION tenants_audit_retention() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  row_old json;
  row_new json;
  outer_tenant text := current_setting('app.tenant_id', true);
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF OLD.audit_retention_days IS NOT DISTINCT FROM NEW.audit_retention_days THEN
      RETURN NULL;
    END IF;
    row_old := json_strip_nulls(json_build_object('audit_retention_days',
                                                  OLD.audit_retention_days));
  ELSIF NEW.audit_retention_days IS NULL THEN
    RETURN NULL;
  END IF;
  row_new := json_strip_nulls(json_build_object('audit_retention_days', NEW.audit_retention_days));
  PERFORM set_config('app.tenant_id', NEW.id::text, true);
  {insert_sql("NEW.id", "NEW.id")};
  PERFORM set_config('app.tenant_id', COALESCE(outer_tenant, ''), true);
  RETURN NULL;
END $$;

INSERT INTO core_audittable (name) VALUES ('tenants_tenant') ON CONFLICT (name) DO NOTHING;
DROP TRIGGER IF EXISTS audit_retention ON tenants_tenant;
DO $$ BEGIN
  EXECUTE format('CREATE TRIGGER audit_retention AFTER INSERT OR UPDATE OF audit_retention_days
                  ON tenants_tenant FOR EACH ROW EXECUTE FUNCTION tenants_audit_retention(%s)',
                 (SELECT code FROM core_audittable WHERE name = 'tenants_tenant'));
END $$;
"""


def expire() -> tuple[list[str], dict[str, int]]:
    """Apply the tenants' retention to both histories now (idempotent): the partitions dropped
    (audit and transition log) and the rows deleted per tenant id (both tables together). The
    caller runs as the platform role (the poller)."""
    if connection.vendor != "postgresql":
        return [], {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT dropped, deleted FROM core_audit_expire()")
        dropped, deleted = cursor.fetchone()
    deleted = json.loads(deleted) if isinstance(deleted, str) else deleted
    if dropped or deleted:
        logger.info(
            "retention: partitions dropped %s; history rows deleted by tenant %s",
            ", ".join(dropped) or "none",
            json.dumps(deleted),
        )
    return list(dropped), deleted
