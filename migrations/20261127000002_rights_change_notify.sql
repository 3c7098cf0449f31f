-- Open WebSockets re-check their caller's rights at once when they change, on every api
-- process, whoever changed them (an api instance, an operator in psql): a role change, a
-- removal, a token revoked or re-dated NOTIFY `rc_rights_changes` with the user concerned
-- (services/api/src/auth/live.rs). Logouts live in Redis; the api announces them itself.
CREATE FUNCTION notify_rights_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    affected uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.user_id ELSE NEW.user_id END;
BEGIN
    PERFORM pg_notify('rc_rights_changes', json_build_object('user_id', affected)::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER memberships_notify_rights
    AFTER UPDATE OF role OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION notify_rights_change();

CREATE TRIGGER api_tokens_notify_rights
    AFTER UPDATE OF revoked_at, expires_at ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION notify_rights_change();
