-- Workspace snapshots (file-service): a tar.gz of a session's /workspace in S3 under
-- snapshots/<org_id>/<id>.tar.gz, restorable into another session of the same organisation.
CREATE TABLE snapshots (
    id             uuid PRIMARY KEY,
    org_id         uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- The session it was taken from; kept when the session row goes.
    session_id     uuid REFERENCES sessions (id) ON DELETE SET NULL,
    created_by     uuid NOT NULL REFERENCES users (id),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    object_key     text NOT NULL,
    -- Compressed object size, and the files' bytes inside it.
    size_bytes     bigint NOT NULL CHECK (size_bytes >= 0),
    content_bytes  bigint NOT NULL CHECK (content_bytes >= 0),
    file_count     integer NOT NULL CHECK (file_count >= 0),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX snapshots_org_idx ON snapshots (org_id, created_at DESC);
