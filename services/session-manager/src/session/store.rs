//! Postgres access for the session actor: the session row, its task queue and its event log.
//! Events and the task transitions they cause commit in one transaction together with the
//! agent replay position, so a crash at any point neither loses nor doubles anything.

use chrono::{DateTime, Utc};
use rc_domain::sessions::{SessionLimits, SessionState};
use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

/// What the actor needs of a session row.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub owner_id: Uuid,
    pub state: SessionState,
    pub image: String,
    pub limits: SessionLimits,
    pub model: String,
    pub permission_mode: String,
    pub node_id: Option<String>,
    pub container_id: Option<String>,
    pub sandbox_name: Option<String>,
    pub claude_session_id: Option<String>,
    pub agent_boot_id: Option<Uuid>,
    pub agent_seq: i64,
    pub deleted: bool,
    pub started_at: Option<DateTime<Utc>>,
    pub last_activity_at: Option<DateTime<Utc>>,
}

pub async fn load(db: &PgPool, id: Uuid) -> sqlx::Result<Option<SessionRow>> {
    let row = sqlx::query!(
        r#"SELECT id, org_id, owner_id, state AS "state: SessionState", image, limits, model,
                  permission_mode, node_id, container_id, sandbox_name, claude_session_id,
                  agent_boot_id, agent_seq, deleted_at IS NOT NULL AS "deleted!", started_at,
                  last_activity_at
           FROM sessions WHERE id = $1"#,
        id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| SessionRow {
        id: r.id,
        org_id: r.org_id,
        owner_id: r.owner_id,
        state: r.state,
        image: r.image,
        // Written by the domain layer from a validated struct; a hand-edited row that no
        // longer parses gets the smallest sane limits rather than none.
        limits: serde_json::from_value(r.limits).unwrap_or(SessionLimits {
            cpu_millis: 1000,
            memory_mb: 1024,
            pids: 256,
            idle_timeout_secs: 1800,
            max_duration_secs: 8 * 3600,
        }),
        model: r.model,
        permission_mode: r.permission_mode,
        node_id: r.node_id,
        container_id: r.container_id,
        sandbox_name: r.sandbox_name,
        claude_session_id: r.claude_session_id,
        agent_boot_id: r.agent_boot_id,
        agent_seq: r.agent_seq,
        deleted: r.deleted,
        started_at: r.started_at,
        last_activity_at: r.last_activity_at,
    }))
}

/// Takes ownership of a pending session for `node` (a new one, or a restart of one whose
/// volumes this node holds). Also true when this node already owns it in `starting` (a
/// redelivered command after a crash).
pub async fn claim(db: &PgPool, id: Uuid, node: &str) -> sqlx::Result<bool> {
    let claimed = sqlx::query!(
        "UPDATE sessions SET node_id = $2, state = 'starting', updated_at = now()
         WHERE id = $1 AND deleted_at IS NULL
           AND ((state = 'pending' AND (node_id IS NULL OR node_id = $2)) OR (state = 'starting' AND node_id = $2))",
        id,
        node
    )
    .execute(db)
    .await?
    .rows_affected();
    Ok(claimed == 1)
}

pub async fn set_sandbox(
    db: &PgPool,
    id: Uuid,
    sandbox_name: &str,
    container_id: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE sessions SET sandbox_name = $2, container_id = $3, updated_at = now() WHERE id = $1",
        id,
        sandbox_name,
        container_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The highest event sequence number of a session (0 when none).
pub async fn last_seq(db: &PgPool, id: Uuid) -> sqlx::Result<i64> {
    let seq = sqlx::query_scalar!(
        r#"SELECT COALESCE(max(seq), 0) AS "seq!" FROM session_events WHERE session_id = $1"#,
        id
    )
    .fetch_one(db)
    .await?;
    Ok(seq)
}

/// One event to append: its typed body (rc-events) decides the `kind` column and payload.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub body: rc_events::EventBody,
    pub kind: &'static str,
    pub payload: Value,
    pub task_id: Option<Uuid>,
    /// The agent sequence number of the CLI line it came from.
    pub agent_seq: Option<i64>,
    /// When session-manager had the event (read the CLI line, or made it): its `at`.
    pub at: DateTime<Utc>,
}

impl NewEvent {
    pub fn new(
        body: &rc_events::EventBody,
        task_id: Option<Uuid>,
    ) -> Result<Self, rc_events::EventError> {
        Ok(Self {
            body: body.clone(),
            kind: body.kind(),
            payload: body.to_payload()?,
            task_id,
            agent_seq: None,
            at: Utc::now(),
        })
    }
}

/// How a task ended.
#[derive(Debug, Clone)]
pub struct TaskEnd {
    pub task_id: Uuid,
    pub state: &'static str,
    pub result: Option<Value>,
    pub error: Option<String>,
}

/// A transaction that appends events with consecutive sequence numbers. Appended events are
/// written together, in one statement, when the transaction commits: a turn streams
/// hundreds of small events, and a round trip per row was most of the delay between the CLI
/// printing a line and a watcher seeing it.
pub struct EventWriter {
    tx: Transaction<'static, Postgres>,
    org_id: Uuid,
    session_id: Uuid,
    next_seq: i64,
    /// Appended, not yet written.
    pending: Vec<(i64, NewEvent)>,
    /// What this transaction appended, for the live stream once it committed.
    written: Vec<rc_events::SessionEvent>,
    /// How many of `pending` were handed out by [`EventWriter::take_early`].
    early_taken: usize,
    /// False once the transaction wrote anything besides events (an approval, a task's end,
    /// …): from then on nothing goes out before the commit (see `take_early`).
    early_allowed: bool,
}

impl EventWriter {
    pub async fn begin(db: &PgPool, session: &SessionRow, next_seq: i64) -> sqlx::Result<Self> {
        Ok(Self {
            tx: db.begin().await?,
            org_id: session.org_id,
            session_id: session.id,
            next_seq,
            pending: Vec::new(),
            written: Vec::new(),
            early_taken: 0,
            early_allowed: true,
        })
    }

    /// The events appended since the last call, for the live stream **before** the commit,
    /// while the transaction has written nothing but events. Such events only show what the
    /// CLI printed: if the commit fails, the agent replays the same lines and the same
    /// decoder state makes the same events with the same sequence numbers (only `at` may
    /// differ), so watchers that saw them early saw the truth. An approval or a task's end
    /// is a decision in the database, so it and everything after it in the batch go out
    /// only once committed.
    pub fn take_early(&mut self) -> Vec<rc_events::SessionEvent> {
        if !self.early_allowed {
            return Vec::new();
        }
        let fresh = &self.pending[self.early_taken..];
        self.early_taken = self.pending.len();
        fresh
            .iter()
            .map(|(seq, event)| {
                rc_events::SessionEvent::new(*seq, event.task_id, event.at, event.body.clone())
            })
            .collect()
    }

    /// Nothing appended from now on goes out before the commit: something besides events was
    /// written, or the next event would not be made again by a replay.
    pub fn hold_back(&mut self) {
        self.early_allowed = false;
    }

    /// Takes the next sequence number for `event` (written at commit).
    pub async fn append(&mut self, event: NewEvent) -> sqlx::Result<i64> {
        let seq = self.next_seq;
        self.pending.push((seq, event));
        self.next_seq += 1;
        Ok(seq)
    }

    /// Writes the pending events in one statement.
    async fn flush(&mut self) -> sqlx::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        let mut seqs = Vec::with_capacity(pending.len());
        let mut tasks = Vec::with_capacity(pending.len());
        let mut kinds = Vec::with_capacity(pending.len());
        let mut payloads = Vec::with_capacity(pending.len());
        let mut agent_seqs = Vec::with_capacity(pending.len());
        let mut ats = Vec::with_capacity(pending.len());
        for (seq, event) in &pending {
            seqs.push(*seq);
            tasks.push(event.task_id);
            kinds.push(event.kind.to_owned());
            payloads.push(event.payload.clone());
            agent_seqs.push(event.agent_seq);
            ats.push(event.at);
        }
        // Each event keeps the time session-manager had it (not the transaction's start), so
        // `at` says when the platform knew, and latency figures start there.
        sqlx::query!(
            "INSERT INTO session_events (org_id, session_id, seq, task_id, kind, payload, agent_seq, created_at)
             SELECT $1, $2, e.seq, e.task_id, e.kind, e.payload, e.agent_seq, e.at
             FROM unnest($3::bigint[], $4::uuid[], $5::text[], $6::jsonb[], $7::bigint[], $8::timestamptz[])
                  AS e(seq, task_id, kind, payload, agent_seq, at)",
            self.org_id,
            self.session_id,
            &seqs,
            &tasks as &[Option<Uuid>],
            &kinds,
            &payloads,
            &agent_seqs as &[Option<i64>],
            &ats
        )
        .execute(&mut *self.tx)
        .await?;
        self.written.extend(pending.into_iter().map(|(seq, event)| {
            rc_events::SessionEvent::new(seq, event.task_id, event.at, event.body)
        }));
        Ok(())
    }

    pub async fn finish_task(&mut self, end: &TaskEnd) -> sqlx::Result<()> {
        self.hold_back();
        sqlx::query!(
            "UPDATE tasks SET state = $2::text::task_state, result = $3, error = $4, finished_at = now()
             WHERE id = $1 AND state = 'running'",
            end.task_id,
            end.state,
            end.result,
            end.error
        )
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn set_claude_session(&mut self, claude_session_id: &str) -> sqlx::Result<()> {
        self.hold_back();
        sqlx::query!(
            "UPDATE sessions SET claude_session_id = $2 WHERE id = $1",
            self.session_id,
            claude_session_id
        )
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Commits, recording the agent's replay position and the activity time. Returns the
    /// next free sequence number and the events now committed.
    pub async fn commit(
        mut self,
        agent: Option<(Uuid, i64)>,
    ) -> sqlx::Result<(i64, Vec<rc_events::SessionEvent>)> {
        self.flush().await?;
        if let Some((boot_id, agent_seq)) = agent {
            sqlx::query!(
                "UPDATE sessions SET agent_boot_id = $2, agent_seq = $3, last_activity_at = now() WHERE id = $1",
                self.session_id,
                boot_id,
                agent_seq
            )
            .execute(&mut *self.tx)
            .await?;
        }
        self.tx.commit().await?;
        Ok((self.next_seq, self.written))
    }
}

/// Marks the next queued task running and returns it with its prompt, or `None`.
pub async fn start_next_task(
    db: &PgPool,
    session: &SessionRow,
) -> sqlx::Result<Option<(Uuid, String)>> {
    let row = sqlx::query!(
        "UPDATE tasks SET state = 'running', started_at = now()
         WHERE id = (SELECT id FROM tasks WHERE session_id = $1 AND state = 'queued'
                     ORDER BY position LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING id, prompt",
        session.id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.id, r.prompt)))
}

/// An image sent with a task's prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskImage {
    pub media_type: String,
    pub data: Vec<u8>,
}

/// The task's images, in the order they go to Claude (before the prompt's text).
pub async fn task_images(db: &PgPool, task_id: Uuid) -> sqlx::Result<Vec<TaskImage>> {
    sqlx::query_as!(
        TaskImage,
        "SELECT media_type, data FROM task_images WHERE task_id = $1 ORDER BY position",
        task_id
    )
    .fetch_all(db)
    .await
}

/// The session's waiting tasks, in the order they will run.
pub async fn queued_tasks(db: &PgPool, session_id: Uuid) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar!(
        "SELECT id FROM tasks WHERE session_id = $1 AND state = 'queued' ORDER BY position, created_at",
        session_id
    )
    .fetch_all(db)
    .await
}

/// The task this session is running according to the database (after a restart).
pub async fn running_task(db: &PgPool, session_id: Uuid) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar!(
        "SELECT id FROM tasks WHERE session_id = $1 AND state = 'running' ORDER BY position LIMIT 1",
        session_id
    )
    .fetch_optional(db)
    .await
}

/// Whether the CLI acknowledged the task's prompt (its `--replay-user-messages` echo is
/// stored), i.e. the prompt reached the Claude process.
pub async fn prompt_delivered(db: &PgPool, session_id: Uuid, task_id: Uuid) -> sqlx::Result<bool> {
    let found = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM session_events WHERE session_id = $1 AND task_id = $2
                          AND kind = 'user_message' AND payload->>'is_replay' = 'true') AS "found!""#,
        session_id,
        task_id
    )
    .fetch_one(db)
    .await?;
    Ok(found)
}

pub async fn task_cancel_requested(db: &PgPool, task_id: Uuid) -> sqlx::Result<bool> {
    // A cancel of a running task is audited by the api and leaves the row running; the
    // actor remembers it in memory, and after a restart this finds the audit record.
    let found = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM audit_logs WHERE action = 'task.cancel' AND target_id = $1::uuid::text) AS "found!""#,
        task_id
    )
    .fetch_one(db)
    .await?;
    Ok(found)
}

/// Moves the session to `state`, setting the time columns that go with it.
pub async fn set_state(
    db: &PgPool,
    id: Uuid,
    state: SessionState,
    reason: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE sessions SET state = $2, state_reason = $3, updated_at = now(),
             started_at = CASE WHEN $2 = 'running'::session_state THEN COALESCE(started_at, now()) ELSE started_at END,
             last_activity_at = CASE WHEN $2 = 'running'::session_state THEN now() ELSE last_activity_at END,
             stopped_at = CASE WHEN $2 IN ('stopped'::session_state, 'failed'::session_state) THEN now() ELSE stopped_at END
         WHERE id = $1
           -- `running` never overwrites a stop the api recorded meanwhile (its command follows).
           AND ($2 <> 'running'::session_state OR state IN ('starting', 'running'))",
        id,
        state as SessionState,
        reason
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Ends the session's open tasks when its sandbox goes away.
pub async fn end_open_tasks(db: &PgPool, id: Uuid, why: &str) -> sqlx::Result<u64> {
    let running = sqlx::query!(
        "UPDATE tasks SET state = 'failed', error = $2, finished_at = now() WHERE session_id = $1 AND state = 'running'",
        id,
        why
    )
    .execute(db)
    .await?
    .rows_affected();
    let queued = sqlx::query!(
        "UPDATE tasks SET state = 'cancelled', error = $2, finished_at = now() WHERE session_id = $1 AND state = 'queued'",
        id,
        why
    )
    .execute(db)
    .await?
    .rows_affected();
    Ok(running + queued)
}

/// A permission request's approval record, as the actor needs it to answer Claude.
#[derive(Debug, Clone)]
pub struct ApprovalRow {
    pub id: Uuid,
    pub request_id: String,
    pub tool_name: String,
    pub input: Value,
    pub pending: bool,
    pub decision: Option<String>,
    pub message: Option<String>,
    pub decided_by: Option<Uuid>,
    pub decided_via: Option<String>,
    pub expires_at: DateTime<Utc>,
}

pub async fn approval(db: &PgPool, id: Uuid) -> sqlx::Result<Option<ApprovalRow>> {
    sqlx::query_as!(
        ApprovalRow,
        r#"SELECT id, request_id, tool_name, input, state = 'pending' AS "pending!", decision,
                  message, decided_by, decided_via, expires_at
           FROM approvals WHERE id = $1"#,
        id
    )
    .fetch_optional(db)
    .await
}

/// The session's undecided requests, and decided ones whose answer never reached Claude (no
/// `approval_decided` event yet: session-manager stopped in between).
pub async fn open_approvals(db: &PgPool, session_id: Uuid) -> sqlx::Result<Vec<ApprovalRow>> {
    sqlx::query_as!(
        ApprovalRow,
        r#"SELECT a.id, a.request_id, a.tool_name, a.input, a.state = 'pending' AS "pending!",
                  a.decision, a.message, a.decided_by, a.decided_via, a.expires_at
           FROM approvals a
           WHERE a.session_id = $1
             AND (a.state = 'pending'
                  OR (a.decided_via IS DISTINCT FROM 'cancelled' AND NOT EXISTS (
                        SELECT 1 FROM session_events e
                        WHERE e.session_id = a.session_id AND e.kind = 'approval_decided'
                          AND e.payload->>'approval_id' = a.id::text)))
           ORDER BY a.created_at"#,
        session_id
    )
    .fetch_all(db)
    .await
}

/// The CLI's suggestions ("always allow" rules) stored with the request's event.
pub async fn approval_suggestions(
    db: &PgPool,
    session_id: Uuid,
    approval_id: Uuid,
) -> sqlx::Result<Vec<Value>> {
    let payload = sqlx::query_scalar!(
        "SELECT payload FROM session_events
         WHERE session_id = $1 AND kind = 'permission_requested' AND payload->>'approval_id' = $2::uuid::text
         ORDER BY seq DESC LIMIT 1",
        session_id,
        approval_id
    )
    .fetch_optional(db)
    .await?;
    Ok(payload
        .and_then(|p| p.get("suggestions").and_then(Value::as_array).cloned())
        .unwrap_or_default())
}

/// Denies an undecided request at its expiry. False when someone decided it first.
pub async fn expire_approval(db: &PgPool, id: Uuid, message: &str) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE approvals SET state = 'expired', decision = 'deny', message = $2,
                decided_via = 'timeout', decided_at = now()
         WHERE id = $1 AND state = 'pending'",
        id,
        message
    )
    .execute(db)
    .await?
    .rows_affected();
    Ok(done == 1)
}

impl EventWriter {
    /// Records a permission request (idempotent: a replayed line finds its record). Returns
    /// the approval id and when it expires.
    pub async fn record_approval(
        &mut self,
        task_id: Option<Uuid>,
        request_id: &str,
        tool_name: &str,
        input: &Value,
        timeout_secs: u64,
    ) -> sqlx::Result<(Uuid, DateTime<Utc>)> {
        self.hold_back();
        let row = sqlx::query!(
            "INSERT INTO approvals (id, org_id, session_id, task_id, request_id, tool_name, input, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8))
             ON CONFLICT (session_id, request_id) DO UPDATE SET request_id = EXCLUDED.request_id
             RETURNING id, expires_at",
            Uuid::now_v7(),
            self.org_id,
            self.session_id,
            task_id,
            request_id,
            tool_name,
            input,
            timeout_secs as f64
        )
        .fetch_one(&mut *self.tx)
        .await?;
        Ok((row.id, row.expires_at))
    }

    /// Withdraws undecided requests: one the CLI cancelled, or all of them when the Claude
    /// process that asked is gone.
    pub async fn cancel_approvals(&mut self, request_id: Option<&str>) -> sqlx::Result<()> {
        self.hold_back();
        sqlx::query!(
            "UPDATE approvals SET state = 'expired', decided_via = 'cancelled', decided_at = now()
             WHERE session_id = $1 AND state = 'pending' AND ($2::text IS NULL OR request_id = $2)",
            self.session_id,
            request_id
        )
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}

/// `/clear`: the next Claude process starts a new conversation instead of resuming.
pub async fn forget_conversation(db: &PgPool, session_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE sessions SET claude_session_id = NULL WHERE id = $1",
        session_id
    )
    .execute(db)
    .await?;
    Ok(())
}
