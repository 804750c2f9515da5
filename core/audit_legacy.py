"""The audit trigger as it was before core 0011 (a jsonb row per event, a table name per event).

Frozen: migrations that ran before core 0011 (`EnableAudit` in accounts 0003-0004, workflows
0016-0018, core 0003 and 0007-0008) install this version; core 0011 replaces it.
"""

# ruff: noqa: S608  (the SQL here is built from this module's table name)

AUDIT_TABLE = "core_auditevent"

LEGACY_DIFF_SQL = """
CREATE OR REPLACE FUNCTION core_audit_diff(row_old jsonb, row_new jsonb,
                                           OUT old_diff jsonb, OUT new_diff jsonb)
LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object('id', row_old->'id')
           || COALESCE(jsonb_object_agg(key, row_old->key) FILTER (WHERE row_old ? key), '{}'),
         jsonb_build_object('id', row_new->'id')
           || COALESCE(jsonb_object_agg(key, row_new->key) FILTER (WHERE row_new ? key), '{}')
  FROM (SELECT jsonb_object_keys(row_old) AS key UNION SELECT jsonb_object_keys(row_new)) keys
  WHERE row_old->key IS DISTINCT FROM row_new->key
$$;

-- The row less its NULL columns (top level only: a JSON column's own nulls stay).
CREATE OR REPLACE FUNCTION core_audit_compact(row_data jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT row_data - ARRAY(SELECT key FROM jsonb_each(row_data) WHERE value = 'null'::jsonb)
$$;
"""

LEGACY_FUNCTION_SQL = f"""
{LEGACY_DIFF_SQL}
CREATE OR REPLACE FUNCTION core_audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  row_old jsonb;
  row_new jsonb;
  rec jsonb;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN row_old := to_jsonb(OLD); END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN row_new := to_jsonb(NEW); END IF;
  rec := COALESCE(row_new, row_old);
  IF TG_OP = 'UPDATE' THEN
    IF row_old = row_new THEN RETURN NULL; END IF;
    SELECT d.old_diff, d.new_diff INTO row_old, row_new FROM core_audit_diff(row_old, row_new) d;
  ELSE
    row_old := core_audit_compact(row_old);
    row_new := core_audit_compact(row_new);
  END IF;
  INSERT INTO {AUDIT_TABLE} (tenant_id, table_name, object_id, operation, old_data, new_data,
                             actor_id, request_id, created_at)
  VALUES ((rec->>'tenant_id')::bigint, TG_TABLE_NAME, (rec->>'id')::bigint, TG_OP, row_old,
          row_new, NULLIF(current_setting('app.actor_id', true), '')::bigint,
          NULLIF(current_setting('app.request_id', true), ''), clock_timestamp());
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION core_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only';
END $$;

DROP TRIGGER IF EXISTS audit_append_only ON {AUDIT_TABLE};
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON {AUDIT_TABLE}
  FOR EACH ROW EXECUTE FUNCTION core_audit_append_only();
"""
