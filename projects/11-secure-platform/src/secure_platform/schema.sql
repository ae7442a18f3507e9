-- Project 11's schema, applied at start by the schema owner (idempotent, one instance at a time).
-- The API connects as inference_app, a role that owns nothing: row-level security applies to it.
SELECT pg_advisory_lock(7201100);

DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'inference_app') THEN
    CREATE ROLE inference_app LOGIN;
  END IF;
END $$;

-- --8<-- [start:rls]
CREATE TABLE IF NOT EXISTS predictions (
  tenant_id    text        NOT NULL,
  id           uuid        PRIMARY KEY,
  model        text        NOT NULL,
  client_id    text        NOT NULL,
  subject      text        NOT NULL,
  row_count    integer     NOT NULL,
  input_sha256 text        NOT NULL,  -- a hash of the input, never the input
  labels       jsonb       NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS predictions_by_tenant ON predictions (tenant_id, created_at DESC);

CREATE TABLE IF NOT EXISTS entitlements (  -- a tenant admin may switch a shared model off
  tenant_id  text        NOT NULL,
  model      text        NOT NULL,
  enabled    boolean     NOT NULL,
  changed_by text        NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, model)
);

-- Every tenant-scoped table: rows of the transaction's tenant only, for reads and for writes.
-- FORCE: the policy holds for the table's owner too.
ALTER TABLE predictions ENABLE ROW LEVEL SECURITY;
ALTER TABLE predictions FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_isolation ON predictions;
CREATE POLICY tenant_isolation ON predictions
  USING (tenant_id = current_setting('app.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('app.tenant_id', true));

ALTER TABLE entitlements ENABLE ROW LEVEL SECURITY;
ALTER TABLE entitlements FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_isolation ON entitlements;
CREATE POLICY tenant_isolation ON entitlements
  USING (tenant_id = current_setting('app.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
-- --8<-- [end:rls]

-- --8<-- [start:audit]
-- The audit log: append-only for the API (it may only call audit_append and read its tenant's
-- rows), each record chained to the one before by a SHA-256 of (previous hash || body).
CREATE TABLE IF NOT EXISTS audit_log (
  seq       bigint PRIMARY KEY,
  tenant_id text,            -- null: the caller could not be identified (a refused token)
  body      text   NOT NULL, -- canonical JSON: who, tenant, client, action, resource, decision, ...
  prev_hash text   NOT NULL,
  hash      text   NOT NULL
);
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_reads_own ON audit_log;
CREATE POLICY tenant_reads_own ON audit_log FOR SELECT
  USING (tenant_id = current_setting('app.tenant_id', true));

CREATE OR REPLACE FUNCTION audit_append(p_tenant text, p_body text)
RETURNS TABLE (seq bigint, hash text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  last_seq  bigint;
  last_hash text;
  new_hash  text;
BEGIN
  PERFORM pg_advisory_xact_lock(7201101);  -- one writer at a time: the chain has one order
  SELECT a.seq, a.hash INTO last_seq, last_hash FROM audit_log a ORDER BY a.seq DESC LIMIT 1;
  last_seq := coalesce(last_seq, 0);
  last_hash := coalesce(last_hash, repeat('0', 64));
  new_hash := encode(sha256(convert_to(last_hash || p_body, 'UTF8')), 'hex');
  INSERT INTO audit_log VALUES (last_seq + 1, p_tenant, p_body, last_hash, new_hash);
  RETURN QUERY SELECT last_seq + 1, new_hash;
END $$;

-- No UPDATE or DELETE for anyone through normal statements.
CREATE OR REPLACE FUNCTION audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END $$;
DROP TRIGGER IF EXISTS audit_append_only ON audit_log;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_is_append_only();

REVOKE ALL ON audit_log FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_append(text, text) FROM PUBLIC;
GRANT SELECT ON audit_log TO inference_app;
GRANT EXECUTE ON FUNCTION audit_append(text, text) TO inference_app;
-- --8<-- [end:audit]
GRANT SELECT, INSERT ON predictions TO inference_app;
GRANT SELECT, INSERT, UPDATE ON entitlements TO inference_app;

SELECT pg_advisory_unlock(7201100);
