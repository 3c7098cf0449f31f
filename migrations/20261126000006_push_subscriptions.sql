-- Web Push subscriptions (docs/push.md): one row per browser push endpoint, owned by one user
-- in one organisation. The endpoint is the push service's URL for that browser and is unique:
-- subscribing again (after a key change, or another user on the same browser) replaces the row.
-- The worker sends to these; a subscription the push service reports gone (404/410) is deleted,
-- other failures are counted and the count resets on the next success.
CREATE TABLE push_subscriptions (
    id               uuid PRIMARY KEY,
    org_id           uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    endpoint         text NOT NULL UNIQUE,
    -- The browser's P-256 public key (uncompressed point) and auth secret, base64url.
    p256dh           text NOT NULL,
    auth             text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_success_at  timestamptz,
    failure_count    integer NOT NULL DEFAULT 0
);
CREATE INDEX push_subscriptions_user_idx ON push_subscriptions (org_id, user_id);
