"""`workflows_metrics_gauges()`: the backlog across tenants, for `/metrics` (workflows.metrics).

The web process's login cannot become the platform role, the only role row-level security
shows every tenant to. This SECURITY DEFINER function runs as the platform role (its owner) and
returns four aggregates only; the application role may execute it. If the migrating login may
not give the function to the platform role, it is dropped (the gauges then read as missing).
"""

from typing import Any

from django.db import migrations

from core.rls import app_role, platform_role

BODY = """
SELECT
  EXTRACT(EPOCH FROM statement_timestamp() - (
    SELECT min(t.created_at) FROM tenants_tenant tn CROSS JOIN LATERAL (
      SELECT h.created_at FROM workflows_humantask h
      WHERE h.tenant_id = tn.id AND h.status = 'pending' ORDER BY h.created_at LIMIT 1) t
  ))::float8,
  (SELECT count(*) FROM workflows_outboxevent WHERE dispatched_at IS NULL),
  EXTRACT(EPOCH FROM statement_timestamp() - (
    SELECT min(available_at) FROM workflows_outboxevent
    WHERE dispatched_at IS NULL AND available_at <= statement_timestamp()))::float8,
  (SELECT count(*) FROM workflows_job WHERE status = 'scheduled' AND due_at <= statement_timestamp())
"""


def forward(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    app, platform = app_role(), platform_role()
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"""DO $do$ BEGIN
              EXECUTE format($f$CREATE OR REPLACE FUNCTION workflows_metrics_gauges()
                RETURNS TABLE (oldest_pending_task_age float8, outbox_pending bigint,
                               outbox_oldest_age float8, jobs_due bigint)
                LANGUAGE sql STABLE SECURITY DEFINER SET search_path = %I, pg_temp
                AS $body${BODY}$body$$f$, current_schema());
              REVOKE ALL ON FUNCTION workflows_metrics_gauges() FROM PUBLIC;
              IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{app}') THEN
                GRANT EXECUTE ON FUNCTION workflows_metrics_gauges() TO "{app}";
              END IF;
              BEGIN
                ALTER FUNCTION workflows_metrics_gauges() OWNER TO "{platform}";
              EXCEPTION WHEN insufficient_privilege OR undefined_object THEN
                DROP FUNCTION workflows_metrics_gauges();
                RAISE NOTICE 'workflows_metrics_gauges() needs to be owned by {platform}: '
                  'migrate as a login that may do so for the /metrics backlog gauges';
              END;
            END $do$"""  # noqa: S608  (roles come from settings, not from a client)
        )


def backward(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS workflows_metrics_gauges()")


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0019_task_claim_and_delegated_ballot"),
        ("tenants", "0001_initial"),
        ("core", "0006_platform_role_policy"),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
