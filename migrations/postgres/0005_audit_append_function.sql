-- A transaction's audit entries are chained when it commits, on the server: the writer inserts them into
-- audit_pending (no lock), and a deferred constraint trigger moves each into audit_log at COMMIT, locking
-- the chain's head row (SELECT ... FOR UPDATE) only from there to the end of the commit. Nothing then
-- waits for a round trip to a client while holding it (a client's event loop busy with other requests
-- for milliseconds between two statements queued every audited write of every replica behind it).
-- The hash is the one src/adapters/audit-chain.ts computes: SHA-256 of the UTF-8 JSON array [seq, at,
-- actor, platform, action, incidentId, before, after, prevHash]; the writer sends the array's inner
-- text without seq and prevHash (`middle`), which only the chain's position adds.
CREATE TABLE audit_pending (
  id bigserial PRIMARY KEY,
  at bigint NOT NULL,
  actor text NOT NULL,
  platform text NOT NULL,
  action text NOT NULL,
  incident_id integer,
  before text,
  after text,
  middle text NOT NULL
);--> statement-breakpoint
CREATE FUNCTION firelane_audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  head_seq bigint;
  head_hash text;
  next_hash text;
BEGIN
  SELECT seq, hash INTO head_seq, head_hash FROM audit_head WHERE id = 1 FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'the audit head is missing: the audit log was tampered with (firelane audit verify)';
  END IF;
  head_seq := head_seq + 1;
  next_hash := encode(sha256(convert_to('[' || head_seq || ',' || NEW.middle || ',"' || head_hash || '"]', 'UTF8')), 'hex');
  INSERT INTO audit_log (seq, at, actor, platform, action, incident_id, before, after, prev_hash, hash)
  VALUES (head_seq, NEW.at, NEW.actor, NEW.platform, NEW.action, NEW.incident_id, NEW.before, NEW.after, head_hash, next_hash);
  UPDATE audit_head SET seq = head_seq, hash = next_hash WHERE id = 1;
  DELETE FROM audit_pending WHERE id = NEW.id;
  RETURN NULL;
END;
$$;--> statement-breakpoint
-- Deferred triggers fire at COMMIT in the order their rows were inserted: the chain keeps the writer's order.
CREATE CONSTRAINT TRIGGER audit_pending_chain AFTER INSERT ON audit_pending
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION firelane_audit_chain();
