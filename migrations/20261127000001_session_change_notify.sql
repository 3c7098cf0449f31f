-- Session lists follow changes live instead of polling: every api process LISTENs on
-- `rc_session_changes` (rc_domain::session_changes) and tells the lists of the session's
-- organisation. Only what a list shows fires it — a new session, its state, name, model,
-- permission mode or deletion — not the per-batch bookkeeping (agent_seq, last_activity_at,
-- stats), which is written many times a second while Claude streams.
CREATE FUNCTION notify_session_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('rc_session_changes', json_build_object(
        'org_id', NEW.org_id,
        'session_id', NEW.id,
        'owner_id', NEW.owner_id,
        'state', NEW.state,
        'deleted', NEW.deleted_at IS NOT NULL
    )::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER sessions_notify_insert
    AFTER INSERT ON sessions
    FOR EACH ROW EXECUTE FUNCTION notify_session_change();

CREATE TRIGGER sessions_notify_update
    AFTER UPDATE OF state, state_reason, name, model, permission_mode, deleted_at ON sessions
    FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state
          OR OLD.state_reason IS DISTINCT FROM NEW.state_reason
          OR OLD.name IS DISTINCT FROM NEW.name
          OR OLD.model IS DISTINCT FROM NEW.model
          OR OLD.permission_mode IS DISTINCT FROM NEW.permission_mode
          OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at)
    EXECUTE FUNCTION notify_session_change();
