-- Appends a transaction's audit entries to the chain in one call, just before its COMMIT: the head row
-- is locked for the time of this function, not for round trips to a busy client. The hash is the one
-- src/adapters/audit-chain.ts computes: SHA-256 of the UTF-8 JSON array [seq, at, actor, platform,
-- action, incidentId, before, after, prevHash]; the client sends the part without seq and prevHash
-- (`middles`, the array's inner text), which only the chain's position adds.
CREATE FUNCTION firelane_audit_append(
  ats bigint[], actors text[], platforms text[], actions text[], incident_ids integer[],
  befores text[], afters text[], middles text[]
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  head_seq bigint;
  head_hash text;
  next_hash text;
BEGIN
  SELECT seq, hash INTO head_seq, head_hash FROM audit_head WHERE id = 1 FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'the audit head is missing: the audit log was tampered with (firelane audit verify)';
  END IF;
  FOR i IN 1 .. coalesce(array_length(ats, 1), 0) LOOP
    head_seq := head_seq + 1;
    next_hash := encode(sha256(convert_to('[' || head_seq || ',' || middles[i] || ',"' || head_hash || '"]', 'UTF8')), 'hex');
    INSERT INTO audit_log (seq, at, actor, platform, action, incident_id, before, after, prev_hash, hash)
    VALUES (head_seq, ats[i], actors[i], platforms[i], actions[i], incident_ids[i], befores[i], afters[i], head_hash, next_hash);
    head_hash := next_hash;
  END LOOP;
  UPDATE audit_head SET seq = head_seq, hash = head_hash WHERE id = 1;
  RETURN head_seq;
END;
$$;
