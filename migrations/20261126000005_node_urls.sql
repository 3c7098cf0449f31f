-- Where the api reaches each session-manager's internal endpoints (terminals), published with
-- the node's heartbeat.
ALTER TABLE sandbox_nodes ADD COLUMN internal_url text;
