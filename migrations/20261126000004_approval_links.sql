-- Signed approval links (rc_domain::approval_links). A link is a self-contained signed token;
-- the only server-side state is this record of the links that have decided, keyed by each
-- link's random nonce, so a link works once. The row is inserted in a transaction that stays
-- open while the decision is made and is committed only when the decision succeeded: a
-- concurrent second use of the same link waits on the primary key and then finds it taken.
CREATE TABLE approval_link_uses (
    nonce            text PRIMARY KEY,
    approval_id      uuid NOT NULL REFERENCES approvals (id) ON DELETE CASCADE,
    org_id           uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- The user the link decides as (who minted it).
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    link_expires_at  timestamptz NOT NULL,
    used_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX approval_link_uses_approval_idx ON approval_link_uses (approval_id);
