-- Images pasted into a prompt (docs/api): sent to Claude with the task's text as image
-- content blocks, in `position` order. Stored with the task in one transaction; at most a few
-- per task, each at most 5 MiB (the model API's limit), checked by the domain layer.
CREATE TABLE task_images (
    task_id     uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    org_id      uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    position    integer NOT NULL,
    media_type  text NOT NULL CHECK (media_type IN ('image/png', 'image/jpeg', 'image/gif', 'image/webp')),
    data        bytea NOT NULL,
    PRIMARY KEY (task_id, position)
);
