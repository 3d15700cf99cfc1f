-- Every change to incidents, whoever makes it (a replica, the CLI, an operator's SQL), is announced on
-- the channel every replica LISTENs on (src/adapters/postgres/notifications.ts): each keeps a copy of
-- the open incidents and drops it on this. NOTIFY is delivered at commit (not at all on rollback), and
-- identical notifications of one transaction only once: a reminder tick updating 100 incidents sends one.
CREATE FUNCTION firelane_incidents_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('firelane_changes', 'incidents');
  RETURN NULL;
END;
$$;--> statement-breakpoint
CREATE TRIGGER incidents_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON incidents
  FOR EACH STATEMENT EXECUTE FUNCTION firelane_incidents_changed();
