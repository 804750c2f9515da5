"""The audit keeps what an UPDATE changed, not the whole row twice (see `core.audit`).

`core_audit_row` and the two triggers that redact a secret (users' password hash, webhook
subscriptions' signing secret) now store, for an UPDATE, the old and new values of the changed
columns plus the id, and for an INSERT or DELETE the row less its NULL columns. Events already
written keep their whole rows; readers take either. The audit indexes become ascending on id
(scanned backwards for newest-first): a descending key made every insert split the leftmost
page, leaving the index half empty.
"""

from django.db import migrations, models

from core.audit_legacy import LEGACY_FUNCTION_SQL as FUNCTION_SQL

# accounts 0002 and workflows 0018, with the diff: the redaction is unchanged.
REDACTING_SQL = """
CREATE OR REPLACE FUNCTION accounts_audit_user() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  row_old jsonb;
  row_new jsonb;
  tenant bigint;
  outer_tenant text;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN row_old := to_jsonb(OLD) - 'password'; END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN row_new := to_jsonb(NEW) - 'password'; END IF;
  tenant := COALESCE((row_new->>'tenant_id')::bigint, (row_old->>'tenant_id')::bigint);
  IF tenant IS NULL THEN RETURN NULL; END IF;
  IF TG_OP = 'UPDATE' THEN
    IF OLD.password IS DISTINCT FROM NEW.password THEN
      row_new := row_new || '{"password_changed": true}'::jsonb;
    ELSIF row_old = row_new THEN
      RETURN NULL;
    END IF;
    SELECT d.old_diff, d.new_diff INTO row_old, row_new FROM core_audit_diff(row_old, row_new) d;
  ELSE
    row_old := core_audit_compact(row_old);
    row_new := core_audit_compact(row_new);
  END IF;
  outer_tenant := current_setting('app.tenant_id', true);
  PERFORM set_config('app.tenant_id', tenant::text, true);
  INSERT INTO core_auditevent (tenant_id, table_name, object_id, operation, old_data, new_data,
                               actor_id, request_id, created_at)
  VALUES (tenant, TG_TABLE_NAME, COALESCE(NEW.id, OLD.id), TG_OP, row_old, row_new,
          NULLIF(current_setting('app.actor_id', true), '')::bigint,
          NULLIF(current_setting('app.request_id', true), ''), clock_timestamp());
  PERFORM set_config('app.tenant_id', COALESCE(outer_tenant, ''), true);
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION workflows_audit_webhook_subscription() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  row_old jsonb;
  row_new jsonb;
  rec jsonb;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN row_old := to_jsonb(OLD) - 'secret'; END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN row_new := to_jsonb(NEW) - 'secret'; END IF;
  rec := COALESCE(row_new, row_old);
  IF TG_OP = 'UPDATE' THEN
    IF OLD.secret IS DISTINCT FROM NEW.secret THEN
      row_new := row_new || '{"secret_changed": true}'::jsonb;
    ELSIF row_old = row_new THEN
      RETURN NULL;
    END IF;
    SELECT d.old_diff, d.new_diff INTO row_old, row_new FROM core_audit_diff(row_old, row_new) d;
  ELSE
    row_old := core_audit_compact(row_old);
    row_new := core_audit_compact(row_new);
  END IF;
  INSERT INTO core_auditevent (tenant_id, table_name, object_id, operation, old_data, new_data,
                               actor_id, request_id, created_at)
  VALUES ((rec->>'tenant_id')::bigint, TG_TABLE_NAME, (rec->>'id')::bigint, TG_OP, row_old,
          row_new, NULLIF(current_setting('app.actor_id', true), '')::bigint,
          NULLIF(current_setting('app.request_id', true), ''), clock_timestamp());
  RETURN NULL;
END $$;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":  # SQLite: no triggers, no audit
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(FUNCTION_SQL)
            cursor.execute(REDACTING_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0006_platform_role_policy"),
        ("accounts", "0002_audit_users"),
        ("workflows", "0018_webhook_subscriptions"),
    ]
    # Backwards keeps the diffing functions: the whole-row readers accept both shapes.
    operations = [
        migrations.RunPython(forward, migrations.RunPython.noop, elidable=False),
        migrations.RemoveIndex(model_name="auditevent", name="audit_object_idx"),
        migrations.RemoveIndex(model_name="auditevent", name="audit_tenant_idx"),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                fields=["tenant_id", "table_name", "object_id", "id"], name="audit_object_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["tenant_id", "id"], name="audit_tenant_idx"),
        ),
    ]
