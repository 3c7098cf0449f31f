-- Sandbox runtime state that session-manager keeps next to the session row.

-- The sandbox (container and its two volumes) serving the session. Pooled sandboxes are
-- created before their session exists, so the name is not derived from the session id.
ALTER TABLE sessions ADD COLUMN sandbox_name text;
-- Replay position in the in-sandbox agent's output buffer: the agent's boot id and the last
-- agent sequence number whose event is stored in session_events. Written in the same
-- transaction as the events, so a restarted session-manager resumes exactly after them.
ALTER TABLE sessions ADD COLUMN agent_boot_id uuid;
ALTER TABLE sessions ADD COLUMN agent_seq bigint NOT NULL DEFAULT 0;
-- Last turn activity, for the idle reaper.
ALTER TABLE sessions ADD COLUMN last_activity_at timestamptz;
-- Latest container stats sample (cpu, memory, network), for the UI and the reaper.
ALTER TABLE sessions ADD COLUMN stats jsonb;

-- The sandbox agent's sequence number of the CLI output line an event was decoded from (one
-- line can give several events; platform events have none). Lets anyone check that no line
-- was stored twice or skipped across reconnects.
ALTER TABLE session_events ADD COLUMN agent_seq bigint;

CREATE INDEX sessions_node_idx ON sessions (node_id) WHERE deleted_at IS NULL AND node_id IS NOT NULL;
CREATE INDEX tasks_queue_idx ON tasks (session_id, position) WHERE state IN ('queued', 'running');

-- One row per running session-manager: whether its Docker engine answers. New sessions are
-- refused with 503 while every live node reports its engine down (rather than queued to
-- fail); rows older than a few heartbeats belong to nodes that are gone.
CREATE TABLE sandbox_nodes (
    node_id       text PRIMARY KEY,
    engine_ok     boolean NOT NULL,
    -- Why the engine is not usable (absent when it is).
    engine_error  text,
    pool_ready    integer NOT NULL DEFAULT 0,
    sessions      integer NOT NULL DEFAULT 0,
    heartbeat_at  timestamptz NOT NULL DEFAULT now()
);
