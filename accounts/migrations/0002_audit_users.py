"""Users and roles go into the audit trail (the table stays outside row-level security).

`accounts_user` is exempt from RLS because login reads it before a tenant is known, so it was
left out of the audit trigger too and a role promotion left no trace. Its own trigger function
differs from `core_audit_row` in three ways: the password hash is never copied (an UPDATE that
changes it records `"password_changed": true`); the audit row belongs to the user's tenant even
when the transaction has no tenant context (e.g. a hash upgrade at login), so it sets
`app.tenant_id` for its own INSERT and restores it; platform staff (no tenant) are not audited,
as the audit log is per tenant.
"""

from django.db import migrations

FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION accounts_audit_user() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  row_old jsonb;
  row_new jsonb;
  tenant bigint;
  outer_tenant text;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN row_old := to_jsonb(OLD) - 'password'; END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN row_new := to_jsonb(NEW) - 'password'; END IF;
  IF TG_OP = 'UPDATE' THEN
    IF OLD.password IS DISTINCT FROM NEW.password THEN
      row_new := row_new || '{"password_changed": true}'::jsonb;
    ELSIF row_old = row_new THEN
      RETURN NULL;
    END IF;
  END IF;
  tenant := COALESCE((row_new->>'tenant_id')::bigint, (row_old->>'tenant_id')::bigint);
  IF tenant IS NULL THEN RETURN NULL; END IF;
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

DROP TRIGGER IF EXISTS audit_row ON accounts_user;
CREATE TRIGGER audit_row AFTER INSERT OR UPDATE OR DELETE ON accounts_user
  FOR EACH ROW EXECUTE FUNCTION accounts_audit_user();
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS audit_row ON accounts_user;
DROP FUNCTION IF EXISTS accounts_audit_user();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":  # SQLite: no triggers, no audit
        schema_editor.execute(FUNCTION_SQL)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("core", "0005_alter_idempotencyrecord_tenant"),
    ]
    operations = [migrations.RunPython(forward, backward, elidable=False)]
