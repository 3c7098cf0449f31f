//! The session actor: the one task that owns a session's sandbox on this node. It creates (or
//! claims from the warm pool) the sandbox, attaches to its agent, runs the Claude process and
//! the task queue one turn at a time, persists every output line as a numbered event, and
//! stops, deletes or fails the sandbox. Commands reach it through a channel, so everything
//! about one session happens in order without locks.
//!
//! Crash safety: events, the task transitions they cause and the agent replay position commit
//! in one transaction, and only then is the agent told to drop them (`Ack`). A restarted
//! session-manager re-attaches and receives exactly the lines after the stored position.

use super::claude::{self, Signal};
use super::live::LivePublisher;
use super::store::{self, EventWriter, NewEvent, SessionRow, TaskEnd};
use crate::manager::Shared;
use crate::sandbox::{EngineError, SandboxSpec};
use futures::FutureExt;
use rc_agent_protocol::{AgentClient, ClaudeEvent, ClaudeRequest, ClaudeSender, Tunnels};
use rc_domain::sessions::SessionState;
use rc_events::{
    ApprovalDecision, Decoder, DecoderConfig, ErrorSource, EventBody, QueuedTask, SessionStatus,
    TaskOutcome,
};
use rc_model_proxy::ProxyContext;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

/// What other parts of session-manager ask of a session.
#[derive(Debug, Clone)]
pub enum Command {
    Stop {
        reason: String,
    },
    Delete,
    TaskQueued,
    TaskCancel {
        task_id: Uuid,
    },
    /// A container stats sample, published as an event (the actor owns the sequence).
    Stats(rc_events::ContainerStats),
    /// Someone decided a permission request: answer Claude.
    ApprovalDecided {
        approval_id: Uuid,
    },
    /// Clear the conversation, switch model or permission mode, or restart the sandbox.
    Control(rc_bus::messages::SessionControl),
    /// A workspace file changed through the file API (published as an event).
    FileChanged {
        path: String,
        change: rc_events::FileChange,
    },
}

/// Lines written per transaction at most; bounds latency and transaction size.
const BATCH: usize = 256;
/// While decoding a batch, the actor lets the live publisher run at least this often.
const YIELD_EVERY: Duration = Duration::from_micros(500);
/// Attempts to store a batch in place before re-attaching (~6 s of back-off in all).
const PERSIST_ATTEMPTS: u32 = 6;
/// How long settling owed numbers waits for the publisher, and then for Redis.
const SETTLE_WAIT: Duration = Duration::from_secs(2);
/// When a queue change is looked at a second time (see `announce_again`).
const REANNOUNCE_AFTER: Duration = Duration::from_millis(250);
/// Safety net for a missed `task.queued` message.
const QUEUE_POLL: Duration = Duration::from_secs(5);
/// How long, and how often, an announced task that is not visible yet is looked for.
const RECHECK_FOR: Duration = Duration::from_secs(3);
const RECHECK_EVERY: Duration = Duration::from_millis(15);
/// Claude exits this many times in a row without finishing a turn → the session fails.
const MAX_CLAUDE_RESTARTS: u32 = 3;

#[derive(Debug, Clone)]
struct RunningTask {
    id: Uuid,
    prompt: String,
    cancel_requested: bool,
    /// After a re-attach: check, once the replay is through, that the prompt reached Claude.
    verify_delivery: bool,
}

/// Why the actor ended.
enum End {
    Stopped(String),
    Deleted,
    /// session-manager is shutting down: leave the sandbox (and Claude) running.
    Detached,
}

struct Actor {
    shared: Arc<Shared>,
    row: SessionRow,
    sandbox: String,
    next_seq: i64,
    task: watch::Sender<Option<Uuid>>,
    running: Option<RunningTask>,
    claude_exits: u32,
    /// Turns the CLI's output lines into typed events; per Claude process.
    decoder: Decoder,
    /// Events go on to the live stream: display-only ones as soon as they are decoded, the
    /// rest once committed (`EventWriter::take_early`).
    live: LivePublisher,
    /// The highest sequence number published early whose batch has not committed (a failed
    /// commit, or a session-manager that died). Watchers have seen those events, so nothing
    /// else may take their numbers: the agent's replay makes the same events again, and
    /// whatever it does not make is copied from the stream (`settle_owed`).
    owed_through: i64,
    /// Session-manager's own events held back while numbers are owed.
    deferred: Vec<(EventBody, Option<Uuid>)>,
    /// Batches of agent lines committed so far (tells a failed batch from a failure after
    /// its commit).
    batches_committed: u64,
    /// The queue as last announced (`queue_changed`), to announce only changes.
    announced_queue: Option<Vec<Uuid>>,
    /// Permission requests waiting for a decision, by approval id.
    approvals: HashMap<Uuid, PendingApproval>,
    /// The next Claude exit was asked for (`/clear`): it does not count as a crash.
    expected_exit: bool,
}

/// A `can_use_tool` request of the running Claude process that nobody answered yet.
#[derive(Debug, Clone)]
struct PendingApproval {
    request_id: String,
    tool_name: String,
    input: serde_json::Value,
    suggestions: Vec<serde_json::Value>,
    expires_at: chrono::DateTime<chrono::Utc>,
}

/// Runs the actor of `session_id` until the session stops, is deleted, fails or
/// session-manager shuts down.
pub async fn run(
    shared: Arc<Shared>,
    session_id: Uuid,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    // The command that spawned us is already acknowledged: keep trying until the database
    // answers (or session-manager stops; the reconciler picks the session up next time).
    let mut pause = Duration::from_millis(200);
    let (row, next_seq) = loop {
        let loaded = async {
            let row = store::load(&shared.db, session_id).await?;
            let seq = store::last_seq(&shared.db, session_id).await?;
            Ok::<_, sqlx::Error>(row.map(|r| (r, seq + 1)))
        };
        match loaded.await {
            Ok(Some(found)) => break found,
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(%session_id, %err, ?pause, "cannot load the session, retrying");
                tokio::select! {
                    () = tokio::time::sleep(pause) => {},
                    () = shared.shutdown.wait() => return,
                }
                pause = (pause * 2).min(MAX_RETRY_PAUSE);
            }
        }
    };
    // Events published early by an earlier actor that died before their commit.
    let owed_through = match stream_last_seq(&shared, row.id).await {
        Ok(last) if last >= next_seq => last,
        Ok(_) => 0,
        Err(err) => {
            tracing::warn!(%session_id, %err, "cannot read the live stream's last entry");
            0
        }
    };
    let (task, _) = watch::channel(None);
    let live = LivePublisher::spawn(
        shared.redis.clone(),
        rc_domain::live::stream_key(&shared.settings.redis.key_prefix, row.id),
    );
    let mut actor = Actor {
        live,
        owed_through,
        deferred: Vec::new(),
        batches_committed: 0,
        announced_queue: None,
        approvals: HashMap::new(),
        expected_exit: false,
        shared,
        sandbox: row.sandbox_name.clone().unwrap_or_default(),
        row,
        next_seq,
        task,
        running: None,
        claude_exits: 0,
        decoder: Decoder::new(DecoderConfig::default()),
    };
    let mut pause = Duration::from_millis(200);
    let outcome = loop {
        match actor.drive(&mut commands).await {
            Err(Fault::Transient(reason)) => {
                tracing::warn!(session_id = %actor.row.id, %reason, ?pause, "transient fault, re-attaching");
                tokio::select! {
                    () = tokio::time::sleep(pause) => {},
                    () = actor.shared.shutdown.wait() => break Ok(End::Detached),
                }
                pause = (pause * 2).min(MAX_RETRY_PAUSE);
            }
            other => break other,
        }
    };
    // From here on commands are refused: the manager handles a stop or delete that arrives
    // during the grace period itself (removal is idempotent), and a start waits for us.
    commands.close();
    let result = match outcome {
        Ok(End::Detached) => Ok(()),
        Ok(End::Stopped(reason)) => actor.finish(SessionState::Stopped, &reason, false).await,
        Ok(End::Deleted) => actor.finish(SessionState::Stopped, "deleted", true).await,
        Err(reason) => {
            tracing::warn!(session_id = %actor.row.id, %reason, "session failed");
            actor
                .finish(SessionState::Failed, &reason.to_string(), false)
                .await
        }
    };
    if let Err(err) = result {
        // The row keeps its last state; the reconciler finishes the job at the next start.
        tracing::error!(session_id = %actor.row.id, %err, "could not record the session's end");
    }
}

impl Actor {
    async fn drive(
        &mut self,
        commands: &mut mpsc::UnboundedReceiver<Command>,
    ) -> Result<End, Fault> {
        self.ensure_sandbox().await?;
        let mut settings_written = false;
        loop {
            // The settings must be in place before Claude starts, which happens only after
            // the attach: the two run side by side (each is one engine round trip).
            let ready = async {
                if settings_written {
                    self.connect().await
                } else {
                    let (written, connected) =
                        tokio::join!(self.write_managed_settings(), self.connect());
                    written?;
                    connected
                }
            };
            let (client, tunnels) = tokio::select! {
                connected = ready => connected?,
                () = self.shared.shutdown.wait() => return Ok(End::Detached),
            };
            settings_written = true;
            self.shared
                .agents
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(self.row.id, (client.clone(), self.row.clone()));
            if self.row.state != SessionState::Running {
                store::set_state(&self.shared.db, self.row.id, SessionState::Running, None)
                    .await
                    .map_err(db_error)?;
                self.row.state = SessionState::Running;
                self.event(
                    EventBody::SessionStateChanged {
                        state: SessionStatus::Running,
                        reason: None,
                    },
                    None,
                )
                .await?;
            }
            let tunnel_task = tokio::spawn(serve_tunnels(
                tunnels,
                self.shared.clone(),
                self.proxy_context(),
            ));
            let outcome = self.attached(&client, commands).await;
            tunnel_task.abort();
            self.shared
                .agents
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&self.row.id);
            client.close();
            match outcome? {
                Some(end) => return Ok(end),
                None => {
                    // The channel broke. A live container means session-manager's side or the
                    // exec went away: attach again. A dead one is started again; its agent has
                    // a new boot id, so numbering restarts and Claude resumes by session id.
                    match self.shared.engine.is_running(&self.sandbox).await {
                        Ok(Some(true)) => {}
                        Ok(Some(false)) => {
                            tracing::warn!(session_id = %self.row.id, "sandbox exited, starting it again");
                            self.shared
                                .engine
                                .start(&self.sandbox)
                                .await
                                .map_err(|e| e.to_string())?;
                            // Its settings tmpfs starts empty again.
                            settings_written = false;
                        }
                        Ok(None) => return Err("the sandbox container disappeared".into()),
                        Err(err) => return Err(err.to_string().into()),
                    }
                }
            }
        }
    }

    /// Creates the sandbox, claims one from the warm pool, or checks the existing one.
    async fn ensure_sandbox(&mut self) -> Result<(), Fault> {
        if !self.sandbox.is_empty() {
            return match self.shared.engine.is_running(&self.sandbox).await {
                Ok(Some(true)) => Ok(()),
                Ok(Some(false)) => self
                    .shared
                    .engine
                    .start(&self.sandbox)
                    .await
                    .map_err(|e| e.to_string().into()),
                Ok(None) if self.row.state == SessionState::Starting => self.create_sandbox().await,
                Ok(None) => Err("the sandbox container disappeared".into()),
                Err(err) => Err(err.to_string().into()),
            };
        }
        if let Some(pooled) = self.shared.pool.take(&self.row.image) {
            match self
                .shared
                .engine
                .update_limits(&pooled, &self.row.limits)
                .await
            {
                Ok(()) => {
                    self.sandbox = pooled;
                    store::set_sandbox(&self.shared.db, self.row.id, &self.sandbox, None)
                        .await
                        .map_err(db_error)?;
                    metrics::counter!("rc_sandbox_pool_claims_total").increment(1);
                    return Ok(());
                }
                Err(err) => {
                    tracing::warn!(%err, sandbox = %pooled, "pooled sandbox unusable, creating one");
                    let _ = self.shared.engine.remove_sandbox(&pooled, true).await;
                }
            }
        }
        self.create_sandbox().await
    }

    async fn create_sandbox(&mut self) -> Result<(), Fault> {
        if self.sandbox.is_empty() {
            self.sandbox = format!("rc-sbx-{}", Uuid::now_v7().simple());
        }
        // Name first: if we crash during the create, the reconciler knows what to clean up.
        store::set_sandbox(&self.shared.db, self.row.id, &self.sandbox, None)
            .await
            .map_err(db_error)?;
        let spec = SandboxSpec {
            name: self.sandbox.clone(),
            image: self.row.image.clone(),
            limits: self.row.limits,
            node_id: self.shared.node_id.clone(),
            session: Some((self.row.id, self.row.org_id)),
            tmp_size_mb: self.shared.settings.session_manager.tmp_size_mb,
        };
        let started = std::time::Instant::now();
        let id = self
            .shared
            .engine
            .create_sandbox(&spec)
            .await
            .map_err(|err| match err {
                EngineError::NotFound(msg) => {
                    format!("sandbox image {} not found: {msg}", self.row.image)
                }
                other => other.to_string(),
            })?;
        metrics::histogram!("rc_sandbox_create_seconds").record(started.elapsed().as_secs_f64());
        store::set_sandbox(&self.shared.db, self.row.id, &self.sandbox, Some(&id))
            .await
            .map_err(db_error)?;
        Ok(())
    }

    /// Renders the organisation's policy into the sandbox's managed settings, before Claude
    /// starts. Read at every start, so policy changes apply from the next sandbox start.
    async fn write_managed_settings(&self) -> Result<(), Fault> {
        let mut conn = self.shared.db.acquire().await.map_err(db_error)?;
        let policy = rc_domain::orgs::policy(&mut conn, self.row.org_id)
            .await
            .map_err(|e| format!("cannot read the organisation's policy: {e}"))?;
        let settings = crate::sandbox::spec::managed_settings(&policy);
        let body = serde_json::to_vec_pretty(&settings).map_err(|e| e.to_string())?;
        self.shared
            .engine
            .write_root_file(
                &self.sandbox,
                crate::sandbox::spec::ORG_SETTINGS_FILE,
                &body,
            )
            .await
            .map_err(|e| format!("cannot write the organisation's managed settings: {e}").into())
    }

    /// Attaches to the agent, retrying while it starts, until the start timeout.
    async fn connect(&self) -> Result<(AgentClient, Tunnels), Fault> {
        let timeout = Duration::from_secs(self.shared.settings.session_manager.start_timeout_secs);
        let deadline = tokio::time::Instant::now() + timeout;
        let mut pause = Duration::from_millis(20);
        loop {
            let attempt = async {
                let io = self
                    .shared
                    .engine
                    .attach_agent(&self.sandbox)
                    .await
                    .map_err(|e| e.to_string())?;
                AgentClient::connect(io, "session-manager")
                    .await
                    .map_err(|e| e.to_string())
            };
            match tokio::time::timeout_at(deadline, attempt).await {
                Ok(Ok(connected)) => return Ok(connected),
                Ok(Err(err)) if tokio::time::Instant::now() + pause < deadline => {
                    tracing::debug!(sandbox = %self.sandbox, %err, "agent not ready yet");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(500));
                }
                Ok(Err(err)) => {
                    return Err(Fault::Fatal(format!(
                        "the sandbox agent did not answer within {}s: {err}",
                        timeout.as_secs()
                    )))
                }
                Err(_) => {
                    return Err(Fault::Fatal(format!(
                        "the sandbox agent did not answer within {}s",
                        timeout.as_secs()
                    )))
                }
            }
        }
    }

    /// One attachment: replay, then live output, commands and the queue. `Ok(None)` when the
    /// channel broke and should be re-attached.
    async fn attached(
        &mut self,
        client: &AgentClient,
        commands: &mut mpsc::UnboundedReceiver<Command>,
    ) -> Result<Option<End>, Fault> {
        let boot_id = client.hello().boot_id;
        let after_seq = if self.row.agent_boot_id == Some(boot_id) {
            u64::try_from(self.row.agent_seq).unwrap_or(0)
        } else {
            0
        };
        let channel = match client.open_claude().await {
            Ok(c) => c,
            Err(err) => {
                tracing::warn!(%err, "cannot open the claude channel");
                return Ok(None);
            }
        };
        let (mut tx, mut rx) = channel.split();
        if tx.send(ClaudeRequest::Attach { after_seq }).await.is_err() {
            return Ok(None);
        }
        let (claude_running, replay_end) = match rx.recv().await {
            Some(Ok(ClaudeEvent::Attached {
                running,
                next_seq,
                oldest_buffered_seq,
                ..
            })) => {
                let overflowed = oldest_buffered_seq.is_some_and(|o| o > after_seq + 1)
                    || (oldest_buffered_seq.is_none() && next_seq > after_seq + 1);
                if overflowed || self.row.agent_boot_id != Some(boot_id) {
                    // The agent cannot replay the lines behind numbers shown early (they
                    // are gone, or were another agent's): settle them before anything
                    // else takes numbers.
                    self.settle_owed().await?;
                }
                if overflowed {
                    let lost = EventBody::OutputLost {
                        message: "the sandbox agent's buffer overflowed; some output was lost"
                            .into(),
                        after_seq: Some(after_seq),
                        next_seq: Some(next_seq),
                    };
                    self.event(lost, self.running_id()).await?;
                }
                (running, next_seq)
            }
            other => {
                tracing::warn!(?other, "agent did not confirm the attach");
                return Ok(None);
            }
        };
        // What the database says is running (after a restart the actor starts empty).
        if self.running.is_none() {
            if let Some(id) = store::running_task(&self.shared.db, self.row.id)
                .await
                .map_err(db_error)?
            {
                let cancel_requested = store::task_cancel_requested(&self.shared.db, id)
                    .await
                    .map_err(db_error)?;
                let prompt = sqlx::query_scalar!("SELECT prompt FROM tasks WHERE id = $1", id)
                    .fetch_one(&self.shared.db)
                    .await
                    .map_err(db_error)?;
                self.running = Some(RunningTask {
                    id,
                    prompt,
                    cancel_requested,
                    verify_delivery: true,
                });
                let _ = self.task.send(Some(id));
            }
        } else if let Some(task) = &mut self.running {
            task.verify_delivery = true;
        }
        let mut claude_running = claude_running;
        if !claude_running {
            if tx.send(claude::start_request(&self.row)).await.is_err() {
                return Ok(None);
            }
            claude_running = true;
        }
        let mut replaying = replay_end > after_seq + 1;
        if !replaying {
            self.after_replay(&mut tx).await?;
        }
        let mut poll = tokio::time::interval(QUEUE_POLL);
        // The api publishes `task.queued` before its transaction commits (so a broker outage
        // fails the request instead of losing the task); the row can be invisible for a few
        // milliseconds, so an empty queue is looked at again briefly.
        let mut recheck_until: Option<tokio::time::Instant> = None;
        // For the same reason a queue change is announced once more shortly after the
        // message: the first look may predate the api's commit.
        let mut announce_again: Option<tokio::time::Instant> = None;
        loop {
            tokio::select! {
                () = self.shared.shutdown.wait() => return Ok(Some(End::Detached)),
                () = client.closed() => return Ok(None),
                command = commands.recv() => match command {
                    None => return Ok(Some(End::Detached)),
                    Some(Command::Stop { reason }) => return Ok(Some(End::Stopped(reason))),
                    Some(Command::Delete) => return Ok(Some(End::Deleted)),
                    Some(Command::TaskQueued) => {
                        if !replaying && claude_running && self.running.is_none()
                            && !self.start_next_task(&mut tx).await? {
                            recheck_until = Some(tokio::time::Instant::now() + RECHECK_FOR);
                        }
                        self.announce_queue().await?;
                        announce_again = Some(tokio::time::Instant::now() + REANNOUNCE_AFTER);
                    }
                    Some(Command::TaskCancel { task_id }) => {
                        self.cancel(&mut tx, task_id).await?;
                        self.announce_queue().await?;
                        announce_again = Some(tokio::time::Instant::now() + REANNOUNCE_AFTER);
                    }
                    Some(Command::Stats(stats)) => self.event(EventBody::ContainerStats(stats), self.running_id()).await?,
                    Some(Command::ApprovalDecided { approval_id }) => self.deliver_decision(&mut tx, approval_id).await?,
                    Some(Command::FileChanged { path, change }) => self.event(EventBody::FileChanged { path, change }, self.running_id()).await?,
                    Some(Command::Control(control)) => {
                        if self.control(&mut tx, control).await? {
                            // The sandbox is going down: re-attach once it is back.
                            return Ok(None);
                        }
                    }
                },
                event = rx.recv() => {
                    let Some(Ok(first)) = event else { return Ok(None) };
                    let mut batch = vec![first];
                    while batch.len() < BATCH {
                        match rx.recv().now_or_never() {
                            Some(Some(Ok(event))) => batch.push(event),
                            _ => break,
                        }
                    }
                    let last = self.persist(boot_id, &batch, &mut tx).await?;
                    if let Some(seq) = last {
                        if tx.send(ClaudeRequest::Ack { seq }).await.is_err() {
                            return Ok(None);
                        }
                        if replaying && seq + 1 >= replay_end {
                            replaying = false;
                            self.after_replay(&mut tx).await?;
                        } else if !replaying && self.running.is_none() {
                            // A turn just ended: the next queued task goes at once.
                            self.start_next_task(&mut tx).await?;
                        }
                    }
                }
                () = tokio::time::sleep(RECHECK_EVERY), if recheck_until.is_some() => {
                    let started = self.running.is_some() || self.start_next_task(&mut tx).await?;
                    if started || recheck_until.is_some_and(|until| tokio::time::Instant::now() >= until) {
                        recheck_until = None;
                        self.announce_queue().await?;
                    }
                }
                () = sleep_until_some(self.next_expiry()) => self.expire_due(&mut tx).await?,
                () = sleep_until_some(announce_again) => {
                    announce_again = None;
                    self.announce_queue().await?;
                }
                _ = poll.tick() => if !replaying && claude_running {
                    self.start_next_task(&mut tx).await?;
                    self.announce_queue().await?;
                },
            }
        }
    }

    /// Once the replay is through: make sure the running task's prompt reached Claude (it is
    /// re-sent if session-manager died between marking the task running and writing it), or
    /// start the next queued task.
    async fn after_replay(&mut self, tx: &mut ClaudeSender) -> Result<(), Fault> {
        self.settle_owed().await?;
        self.resume_approvals(tx).await?;
        if let Some(task) = &mut self.running {
            if task.verify_delivery {
                task.verify_delivery = false;
                let (id, prompt) = (task.id, task.prompt.clone());
                if !store::prompt_delivered(&self.shared.db, self.row.id, id)
                    .await
                    .map_err(db_error)?
                {
                    tracing::info!(task_id = %id, "re-sending a prompt that never reached Claude");
                    let images = store::task_images(&self.shared.db, id)
                        .await
                        .map_err(db_error)?;
                    self.send_line(tx, claude::user_line(&prompt, &images))
                        .await?;
                }
            }
            return Ok(());
        }
        self.start_next_task(tx).await?;
        Ok(())
    }

    /// Writes one batch of agent events, and the task transitions they cause, in one
    /// transaction (`persist_batch`); returns the highest agent sequence number written.
    ///
    /// A batch that did not commit is written again in place a few times before the actor
    /// gives up and re-attaches: re-attaching drops the agent's channel, and with it the model
    /// call the CLI has tunnelled through it, so the CLI would retry the call, streaming (and
    /// paying for) the reply twice. Each attempt starts from the decoder as it was before the
    /// batch, so it makes the very events already streamed early.
    async fn persist(
        &mut self,
        boot_id: Uuid,
        batch: &[ClaudeEvent],
        tx: &mut ClaudeSender,
    ) -> Result<Option<u64>, Fault> {
        let mut pause = Duration::from_millis(100);
        let mut attempt = 1;
        loop {
            let decoder = self.decoder.clone();
            let committed = self.batches_committed;
            let result = self.persist_batch(boot_id, batch, tx).await;
            if self.batches_committed != committed {
                // Committed (whatever failed afterwards): the decoder has moved on.
                let last = result?;
                self.write_deferred().await?;
                return Ok(last);
            }
            self.decoder = decoder;
            match result {
                Err(Fault::Transient(reason)) if attempt < PERSIST_ATTEMPTS => {
                    tracing::warn!(session_id = %self.row.id, %reason, attempt, ?pause, "batch not stored, writing it again");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn persist_batch(
        &mut self,
        boot_id: Uuid,
        batch: &[ClaudeEvent],
        tx: &mut ClaudeSender,
    ) -> Result<Option<u64>, Fault> {
        let mut writer = EventWriter::begin(&self.shared.db, &self.row, self.next_seq)
            .await
            .map_err(db_error)?;
        // Changes to the actor's own state are made on copies and kept only once the
        // transaction committed: after a failed commit the agent replays the same lines, and
        // they must find the actor as it was.
        let mut running = self.running.clone();
        let mut claude_session = self.row.claude_session_id.clone();
        let mut claude_exits = self.claude_exits;
        let mut last = None;
        let mut asked = Vec::new();
        let mut withdrawn: Vec<String> = Vec::new();
        let mut claude_gone = false;
        let mut turn_ended = false;
        let mut restart_claude = false;
        let mut since_yield = std::time::Instant::now();
        for event in batch {
            match event {
                ClaudeEvent::Output { seq, line } => {
                    let seq = *seq;
                    last = Some(seq);
                    // Control flow from the raw line; what is stored and streamed are the
                    // typed events (never fewer than one per line).
                    let signal = claude::classify(line).2;
                    let task_id = running.as_ref().map(|t| t.id);
                    for mut body in self.decoder.decode(line) {
                        match &mut body {
                            EventBody::PermissionRequested {
                                request_id,
                                tool_name,
                                suggestions,
                                approval_id,
                                ..
                            } => {
                                let raw_input = match &signal {
                                    Signal::PermissionRequest { input, .. } => input.clone(),
                                    _ => serde_json::Value::Null,
                                };
                                let (id, expires_at) = writer
                                    .record_approval(
                                        task_id,
                                        request_id,
                                        tool_name,
                                        &raw_input,
                                        self.shared.settings.approvals.timeout_secs,
                                    )
                                    .await
                                    .map_err(db_error)?;
                                *approval_id = Some(id);
                                asked.push((
                                    id,
                                    PendingApproval {
                                        request_id: request_id.clone(),
                                        tool_name: tool_name.clone(),
                                        input: raw_input,
                                        suggestions: suggestions.clone(),
                                        expires_at,
                                    },
                                ));
                            }
                            EventBody::PermissionCancelled { request_id } => {
                                writer
                                    .cancel_approvals(Some(request_id))
                                    .await
                                    .map_err(db_error)?;
                                withdrawn.push(request_id.clone());
                            }
                            _ => {}
                        }
                        let mut event = NewEvent::new(&body, task_id).map_err(|e| e.to_string())?;
                        event.agent_seq = i64::try_from(seq).ok();
                        writer.append(event).await.map_err(db_error)?;
                    }
                    match signal {
                        Signal::TurnEnded(result) => {
                            if let Some(cs) = &result.claude_session_id {
                                writer.set_claude_session(cs).await.map_err(db_error)?;
                                claude_session = Some(cs.clone());
                            }
                            if let Some(task) = running.take() {
                                let (state, outcome) = if task.cancel_requested {
                                    ("cancelled", TaskOutcome::Cancelled)
                                } else if result.is_error {
                                    ("failed", TaskOutcome::Failed)
                                } else {
                                    ("succeeded", TaskOutcome::Succeeded)
                                };
                                let error = result.is_error.then(|| {
                                    result
                                        .text
                                        .clone()
                                        .unwrap_or_else(|| result.subtype.clone())
                                });
                                let value =
                                    serde_json::to_value(&result).map_err(|e| e.to_string())?;
                                writer
                                    .finish_task(&TaskEnd {
                                        task_id: task.id,
                                        state,
                                        result: Some(value),
                                        error,
                                    })
                                    .await
                                    .map_err(db_error)?;
                                let finished = EventBody::TaskFinished {
                                    task_id: task.id,
                                    state: outcome,
                                };
                                writer
                                    .append(
                                        NewEvent::new(&finished, Some(task.id))
                                            .map_err(|e| e.to_string())?,
                                    )
                                    .await
                                    .map_err(db_error)?;
                                metrics::counter!("rc_turns_total", "state" => state).increment(1);
                            }
                            claude_exits = 0;
                            turn_ended = true;
                        }
                        // Recorded above, from the decoded event.
                        Signal::PermissionRequest { .. } | Signal::None => {}
                    }
                }
                ClaudeEvent::Exited { seq, code, signal } => {
                    last = Some(*seq);
                    let exited = EventBody::ClaudeExited {
                        code: *code,
                        signal: *signal,
                    };
                    writer
                        .append(
                            NewEvent::new(&exited, running.as_ref().map(|t| t.id))
                                .map_err(|e| e.to_string())?,
                        )
                        .await
                        .map_err(db_error)?;
                    // The next process starts with fresh stream state, and nobody can answer
                    // the old one's permission requests any more.
                    self.decoder = Decoder::new(DecoderConfig::default());
                    writer.cancel_approvals(None).await.map_err(db_error)?;
                    claude_gone = true;
                    if let Some(task) = running.take() {
                        let error = format!("the Claude process exited (code {code:?}, signal {signal:?}) during the turn");
                        writer
                            .finish_task(&TaskEnd {
                                task_id: task.id,
                                state: "failed",
                                result: None,
                                error: Some(error),
                            })
                            .await
                            .map_err(db_error)?;
                        let finished = EventBody::TaskFinished {
                            task_id: task.id,
                            state: TaskOutcome::Failed,
                        };
                        writer
                            .append(
                                NewEvent::new(&finished, Some(task.id))
                                    .map_err(|e| e.to_string())?,
                            )
                            .await
                            .map_err(db_error)?;
                    }
                    restart_claude = true;
                }
                ClaudeEvent::Stderr { line } => {
                    tracing::debug!(session_id = %self.row.id, claude_stderr = %line)
                }
                ClaudeEvent::Error { message } => {
                    tracing::warn!(session_id = %self.row.id, %message, "agent reported an error");
                    // Not a numbered line: a replay would not make it again.
                    writer.hold_back();
                    let error = EventBody::Error {
                        source: ErrorSource::Agent,
                        message: message.clone(),
                    };
                    writer
                        .append(
                            NewEvent::new(&error, running.as_ref().map(|t| t.id))
                                .map_err(|e| e.to_string())?,
                        )
                        .await
                        .map_err(db_error)?;
                }
                ClaudeEvent::Started { .. } | ClaudeEvent::Attached { .. } => {}
            }
            // Watchers get what the CLI printed now, not once the whole batch committed.
            let early = writer.take_early();
            if let Some(event) = early.last() {
                self.owed_through = self.owed_through.max(event.seq);
                self.live.send(early);
                // The publisher was just woken on this worker, where it waits until this
                // task yields (tokio's LIFO slot is not stolen by other workers): without a
                // yield it would wait for the rest of the batch's decoding.
                if since_yield.elapsed() >= YIELD_EVERY {
                    tokio::task::yield_now().await;
                    since_yield = std::time::Instant::now();
                }
            }
        }
        let (next_seq, committed) = writer
            .commit(last.map(|s| (boot_id, i64::try_from(s).unwrap_or(i64::MAX))))
            .await
            .map_err(db_error)?;
        self.batches_committed += 1;
        self.next_seq = next_seq;
        self.committed(committed);
        self.running = running;
        self.row.claude_session_id = claude_session;
        self.claude_exits = claude_exits;
        if let Some(seq) = last {
            self.row.agent_boot_id = Some(boot_id);
            self.row.agent_seq = i64::try_from(seq).unwrap_or(i64::MAX);
        }
        if turn_ended {
            let _ = self.task.send(None);
        }
        if claude_gone {
            self.approvals.clear();
        }
        self.approvals
            .retain(|_, p| !withdrawn.contains(&p.request_id));
        self.approvals.extend(asked);
        if restart_claude && std::mem::take(&mut self.expected_exit) {
            if tx.send(claude::start_request(&self.row)).await.is_err() {
                return Err(Fault::Transient("the agent channel broke".into()));
            }
        } else if restart_claude {
            self.claude_exits += 1;
            if self.claude_exits > MAX_CLAUDE_RESTARTS {
                return Err(format!(
                    "the Claude process exited {MAX_CLAUDE_RESTARTS} times in a row"
                )
                .into());
            }
            if tx.send(claude::start_request(&self.row)).await.is_err() {
                return Err(Fault::Transient("the agent channel broke".into()));
            }
        }
        Ok(last)
    }

    /// Starts the next queued task unless one runs; true when one was started.
    async fn start_next_task(&mut self, tx: &mut ClaudeSender) -> Result<bool, Fault> {
        // While a `/clear` replaces the Claude process, prompts wait for the new one.
        if self.running.is_some() || self.expected_exit {
            return Ok(false);
        }
        let Some((id, prompt)) = store::start_next_task(&self.shared.db, &self.row)
            .await
            .map_err(db_error)?
        else {
            return Ok(false);
        };
        self.running = Some(RunningTask {
            id,
            prompt: prompt.clone(),
            cancel_requested: false,
            verify_delivery: false,
        });
        let _ = self.task.send(Some(id));
        let prompt_chars = prompt.chars().count();
        self.event(
            EventBody::TaskStarted {
                task_id: id,
                prompt_chars,
            },
            Some(id),
        )
        .await?;
        let images = store::task_images(&self.shared.db, id)
            .await
            .map_err(db_error)?;
        self.send_line(tx, claude::user_line(&prompt, &images))
            .await?;
        self.announce_queue().await?;
        Ok(true)
    }

    /// Applies a session control. True when the sandbox was stopped to be restarted (the
    /// caller re-attaches; the drive loop starts the container again and Claude resumes).
    async fn control(
        &mut self,
        tx: &mut ClaudeSender,
        control: rc_bus::messages::SessionControl,
    ) -> Result<bool, Fault> {
        use rc_bus::messages::SessionControl;
        let request_id = format!("control-{}", Uuid::now_v7().simple());
        let (action, value) = match control {
            SessionControl::SetModel { model } => {
                let line = claude::control_line(&request_id, "set_model", "model", &model);
                self.send_line(tx, line).await?;
                self.row.model = model.clone();
                ("set_model", Some(model))
            }
            SessionControl::SetPermissionMode { mode } => {
                let line = claude::control_line(&request_id, "set_permission_mode", "mode", &mode);
                self.send_line(tx, line).await?;
                self.row.permission_mode = mode.clone();
                ("set_permission_mode", Some(mode))
            }
            SessionControl::Clear => {
                // Forget the conversation, then end the process: its exit restarts Claude
                // without `--resume`, i.e. a new conversation in the same sandbox.
                store::forget_conversation(&self.shared.db, self.row.id)
                    .await
                    .map_err(db_error)?;
                self.row.claude_session_id = None;
                self.expected_exit = true;
                if tx
                    .send(ClaudeRequest::Stop { grace_ms: 2000 })
                    .await
                    .is_err()
                {
                    return Err(Fault::Transient("the agent channel broke".into()));
                }
                ("clear", None)
            }
            SessionControl::Restart => {
                self.event(
                    EventBody::SessionControlled {
                        action: "restart".into(),
                        value: None,
                    },
                    self.running_id(),
                )
                .await?;
                let grace = self.shared.settings.session_manager.stop_grace_secs;
                self.shared
                    .engine
                    .stop(&self.sandbox, grace)
                    .await
                    .map_err(|e| e.to_string())?;
                return Ok(true);
            }
        };
        self.event(
            EventBody::SessionControlled {
                action: action.into(),
                value,
            },
            self.running_id(),
        )
        .await?;
        Ok(false)
    }

    /// Publishes the waiting tasks and their positions when they changed since the last
    /// announcement (a task queued, cancelled, started or moved).
    async fn announce_queue(&mut self) -> Result<(), Fault> {
        let queued = store::queued_tasks(&self.shared.db, self.row.id)
            .await
            .map_err(db_error)?;
        if self.announced_queue.as_ref() == Some(&queued) {
            return Ok(());
        }
        let body = EventBody::QueueChanged {
            queued: queued
                .iter()
                .zip(1u32..)
                .map(|(&task_id, position)| QueuedTask { task_id, position })
                .collect(),
        };
        self.event(body, self.running_id()).await?;
        self.announced_queue = Some(queued);
        Ok(())
    }

    async fn cancel(&mut self, tx: &mut ClaudeSender, task_id: Uuid) -> Result<(), Fault> {
        let Some(task) = self.running.as_mut().filter(|t| t.id == task_id) else {
            // Queued tasks were cancelled in the database by the api; nothing runs here.
            return Ok(());
        };
        task.cancel_requested = true;
        let line = claude::interrupt_line(&format!("interrupt-{task_id}"));
        self.send_line(tx, line).await
    }

    async fn send_line(&self, tx: &mut ClaudeSender, line: String) -> Result<(), Fault> {
        // A broken channel is noticed by the receive side, which re-attaches; the line is
        // then re-sent by `after_replay` if it was a prompt.
        if let Err(err) = tx.send(ClaudeRequest::Input { line }).await {
            tracing::warn!(%err, "could not write to Claude");
        }
        Ok(())
    }

    /// Committed events go on to the live stream (the publisher skips those it already has
    /// from `take_early`). Permission requests and finished turns
    /// also become push notification jobs for the worker (docs/push.md), published in the
    /// background after the commit: a broker outage costs a notification, never the session.
    fn committed(&self, events: Vec<rc_events::SessionEvent>) {
        let jobs: Vec<rc_domain::push::PushJob> = events
            .iter()
            .filter_map(|event| push_job(&self.row, event))
            .collect();
        if !jobs.is_empty() {
            let bus = self.shared.bus.clone();
            tokio::spawn(async move {
                for job in jobs {
                    if let Err(err) = bus.publish(&job).await {
                        tracing::warn!(%err, ?job, "push notification job not published");
                    }
                }
            });
        }
        self.live.send(events);
    }

    /// Appends one event of session-manager's own in its own transaction (or holds it back
    /// while sequence numbers are owed to events published early).
    async fn event(&mut self, body: EventBody, task_id: Option<Uuid>) -> Result<(), Fault> {
        self.deferred.push((body, task_id));
        self.write_deferred().await
    }

    /// Writes the held-back events of session-manager's own, unless numbers are still owed.
    async fn write_deferred(&mut self) -> Result<(), Fault> {
        if self.deferred.is_empty() || self.owed_through >= self.next_seq {
            return Ok(());
        }
        let mut writer = EventWriter::begin(&self.shared.db, &self.row, self.next_seq)
            .await
            .map_err(db_error)?;
        for (body, task_id) in &self.deferred {
            writer
                .append(NewEvent::new(body, *task_id).map_err(|e| e.to_string())?)
                .await
                .map_err(db_error)?;
        }
        let (next_seq, committed) = writer.commit(None).await.map_err(db_error)?;
        self.deferred.clear();
        self.next_seq = next_seq;
        self.committed(committed);
        Ok(())
    }

    /// After the agent's replay (or instead of it, when the agent cannot replay): events
    /// published early that the replay did not make again are stored as the stream has them,
    /// so the log has no hole and holds what watchers were shown. Redis being away does not
    /// hold up the session: the numbers are then given up (what watchers saw of them may
    /// differ from what gets stored; docs/live-sessions.md).
    async fn settle_owed(&mut self) -> Result<(), Fault> {
        if self.owed_through < self.next_seq {
            return self.write_deferred().await;
        }
        // The stream must hold everything this actor sent early before it is read.
        let flushed = self.live.flush(SETTLE_WAIT).await;
        let key = rc_domain::live::stream_key(&self.shared.settings.redis.key_prefix, self.row.id);
        let count = usize::try_from(self.owed_through - self.next_seq + 1).unwrap_or(usize::MAX);
        let read = tokio::time::timeout(SETTLE_WAIT, async {
            let mut conn = self.shared.redis.get().await.map_err(|e| e.to_string())?;
            rc_domain::live::read_range(&mut conn, &key, self.next_seq - 1, count)
                .await
                .map_err(|e| e.to_string())
        })
        .await
        .unwrap_or_else(|_| Err("timed out".into()));
        let events = match read {
            Ok(events) => events,
            Err(err) => {
                tracing::warn!(session_id = %self.row.id, %err, flushed, owed_through = self.owed_through, "cannot read the live stream; numbers shown early are given up");
                Vec::new()
            }
        };
        let mut writer = EventWriter::begin(&self.shared.db, &self.row, self.next_seq)
            .await
            .map_err(db_error)?;
        let mut copied = 0;
        for shared in events {
            if shared.event.seq != self.next_seq + copied {
                break;
            }
            let mut event = NewEvent::new(&shared.event.body, shared.event.task_id)
                .map_err(|e| e.to_string())?;
            event.at = shared.event.at;
            writer.append(event).await.map_err(db_error)?;
            copied += 1;
        }
        let (next_seq, _) = writer.commit(None).await.map_err(db_error)?;
        tracing::warn!(session_id = %self.row.id, copied, owed_through = self.owed_through, "stored events published early that the replay did not make again");
        self.next_seq = next_seq;
        // From here on numbers are taken afresh, also by the publisher.
        self.live.rebase(next_seq - 1);
        self.owed_through = 0;
        self.write_deferred().await
    }

    /// After an attach: undecided requests wait again (their expiry timers restart), and a
    /// decision taken while session-manager was away is delivered now.
    async fn resume_approvals(&mut self, tx: &mut ClaudeSender) -> Result<(), Fault> {
        let open = store::open_approvals(&self.shared.db, self.row.id)
            .await
            .map_err(db_error)?;
        for row in open {
            if !self.approvals.contains_key(&row.id) {
                let suggestions = store::approval_suggestions(&self.shared.db, self.row.id, row.id)
                    .await
                    .map_err(db_error)?;
                self.approvals.insert(
                    row.id,
                    PendingApproval {
                        request_id: row.request_id.clone(),
                        tool_name: row.tool_name.clone(),
                        input: row.input.clone(),
                        suggestions,
                        expires_at: row.expires_at,
                    },
                );
            }
            if !row.pending {
                self.answer(tx, row).await?;
            }
        }
        Ok(())
    }

    /// A decision arrived over the bus. The api publishes before it commits, so the row can
    /// look undecided for a moment: it is looked at again briefly before giving up (the
    /// request then stays pending and its expiry still answers Claude).
    async fn deliver_decision(
        &mut self,
        tx: &mut ClaudeSender,
        approval_id: Uuid,
    ) -> Result<(), Fault> {
        if !self.approvals.contains_key(&approval_id) {
            // Already answered, withdrawn, or not this process's request.
            return Ok(());
        }
        let deadline = tokio::time::Instant::now() + RECHECK_FOR;
        loop {
            let row = store::approval(&self.shared.db, approval_id)
                .await
                .map_err(db_error)?;
            match row {
                Some(row) if !row.pending => return self.answer(tx, row).await,
                Some(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(RECHECK_EVERY).await
                }
                _ => return Ok(()),
            }
        }
    }

    /// Sends a decided request's answer to Claude and records that it did.
    async fn answer(
        &mut self,
        tx: &mut ClaudeSender,
        row: store::ApprovalRow,
    ) -> Result<(), Fault> {
        let Some(pending) = self.approvals.remove(&row.id) else {
            return Ok(());
        };
        let (line, decision) = match row.decision.as_deref() {
            Some("allow") => (
                claude::allow_line(&pending.request_id, &pending.input, &[]),
                ApprovalDecision::Allow,
            ),
            Some("always") => (
                claude::allow_line(
                    &pending.request_id,
                    &pending.input,
                    &claude::always_rules(&pending.tool_name, &pending.suggestions),
                ),
                ApprovalDecision::Always,
            ),
            _ => (
                claude::deny_line(
                    &pending.request_id,
                    row.message.as_deref().unwrap_or("The request was denied"),
                ),
                ApprovalDecision::Deny,
            ),
        };
        self.send_line(tx, line).await?;
        let decided = EventBody::ApprovalDecided {
            approval_id: row.id,
            request_id: pending.request_id,
            decision,
            by: row.decided_by,
            via: row.decided_via.unwrap_or_default(),
            message: row.message,
        };
        self.event(decided, self.running_id()).await
    }

    /// When the earliest undecided request expires.
    fn next_expiry(&self) -> Option<tokio::time::Instant> {
        let earliest = self.approvals.values().map(|p| p.expires_at).min()?;
        let wait = (earliest - chrono::Utc::now()).to_std().unwrap_or_default();
        Some(tokio::time::Instant::now() + wait)
    }

    /// Denies every request whose time is up, visibly (event and record, `via` timeout).
    async fn expire_due(&mut self, tx: &mut ClaudeSender) -> Result<(), Fault> {
        let now = chrono::Utc::now();
        let due: Vec<Uuid> = self
            .approvals
            .iter()
            .filter(|(_, p)| p.expires_at <= now)
            .map(|(id, _)| *id)
            .collect();
        let timeout = self.shared.settings.approvals.timeout_secs;
        for id in due {
            let message = format!(
                "No one answered this permission request within {}; it was denied automatically.",
                human_duration(timeout)
            );
            store::expire_approval(&self.shared.db, id, &message)
                .await
                .map_err(db_error)?;
            // Whoever won — the timeout or a last-moment decision — is what Claude gets.
            match store::approval(&self.shared.db, id)
                .await
                .map_err(db_error)?
            {
                Some(row) if !row.pending => self.answer(tx, row).await?,
                _ => {
                    self.approvals.remove(&id);
                }
            }
        }
        Ok(())
    }

    fn running_id(&self) -> Option<Uuid> {
        self.running.as_ref().map(|t| t.id)
    }

    fn proxy_context(&self) -> ProxyContext {
        ProxyContext {
            org_id: self.row.org_id,
            user_id: self.row.owner_id,
            session_id: self.row.id,
            task_id: self.task.subscribe(),
        }
    }

    /// Ends the session: open tasks end, the container goes (the volumes too when deleting),
    /// and the row records the final state and why.
    async fn finish(
        &mut self,
        state: SessionState,
        reason: &str,
        delete: bool,
    ) -> Result<(), Fault> {
        if state == SessionState::Stopped {
            // Visible while the grace period runs; not essential, so a failure is only logged.
            if let Err(err) = store::set_state(
                &self.shared.db,
                self.row.id,
                SessionState::Stopping,
                Some(reason),
            )
            .await
            {
                tracing::warn!(%err, "could not mark the session stopping");
            }
        }
        // The sandbox goes first: whatever happens to the database afterwards, nothing keeps
        // running for a session that is over.
        if !self.sandbox.is_empty() {
            let grace = self.shared.settings.session_manager.stop_grace_secs;
            if let Err(err) = self.shared.engine.stop(&self.sandbox, grace).await {
                tracing::warn!(%err, sandbox = %self.sandbox, "graceful stop failed");
            }
            if let Err(err) = self
                .shared
                .engine
                .remove_sandbox(&self.sandbox, delete)
                .await
            {
                // The state is recorded anyway; the reconciler removes the leftovers once the
                // engine answers again.
                tracing::warn!(%err, sandbox = %self.sandbox, "could not remove the sandbox");
            }
        }
        // Then the record, retried through a short database outage.
        let mut pause = Duration::from_millis(200);
        loop {
            match self.record_end(state, reason).await {
                Ok(()) => break,
                Err(Fault::Transient(err)) if pause < MAX_RETRY_PAUSE => {
                    tracing::warn!(%err, ?pause, "could not record the session's end, retrying");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
                Err(err) => return Err(err),
            }
        }
        let state_name = if state == SessionState::Failed {
            "failed"
        } else {
            "stopped"
        };
        metrics::counter!("rc_sessions_ended_total", "state" => state_name).increment(1);
        Ok(())
    }

    async fn record_end(&mut self, state: SessionState, reason: &str) -> Result<(), Fault> {
        // The session ends before a replay settled what is owed: settle it now, or the last
        // state change would wait forever behind it.
        self.settle_owed().await?;
        let db = &self.shared.db;
        store::end_open_tasks(db, self.row.id, &format!("session {reason}"))
            .await
            .map_err(db_error)?;
        store::set_state(db, self.row.id, state, Some(reason))
            .await
            .map_err(db_error)?;
        let status = if state == SessionState::Failed {
            SessionStatus::Failed
        } else {
            SessionStatus::Stopped
        };
        self.event(
            EventBody::SessionStateChanged {
                state: status,
                reason: Some(reason.to_owned()),
            },
            None,
        )
        .await
    }
}

/// "10 minutes", "45 seconds".
fn human_duration(secs: u64) -> String {
    match secs {
        s if s >= 60 && s % 60 == 0 => {
            let m = s / 60;
            format!("{m} minute{}", if m == 1 { "" } else { "s" })
        }
        s => format!("{s} second{}", if s == 1 { "" } else { "s" }),
    }
}

/// Sleeps until `at`, or forever when there is nothing scheduled.
async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Model connections one sandbox may have open at once. The CLI uses a handful; the cap keeps
/// one sandbox from monopolising the proxy (and the database pool its metering uses).
const MAX_TUNNELS_PER_SESSION: usize = 16;

/// Hands every tunnelled connection from the sandbox to the model proxy.
async fn serve_tunnels(mut tunnels: Tunnels, shared: Arc<Shared>, ctx: ProxyContext) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_TUNNELS_PER_SESSION));
    while let Some(stream) = tunnels.next().await {
        if stream.target != rc_agent_protocol::TUNNEL_TARGET_MODEL {
            tracing::warn!(target = %stream.target, "refusing a tunnel to an unknown target");
            continue;
        }
        // Waiting here holds back further connections from this sandbox, nobody else's.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let proxy = shared.proxy.clone();
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(err) = proxy.serve(stream, ctx).await {
                tracing::debug!(%err, "model tunnel ended with an error");
            }
        });
    }
}

/// Why a step failed. A transient fault (the database briefly away) is retried after a pause:
/// the agent keeps every unacknowledged line, so a later attach replays what was not stored.
/// Anything else fails the session, with the message as its reason.
#[derive(Debug)]
enum Fault {
    Transient(String),
    Fatal(String),
}

impl From<String> for Fault {
    fn from(message: String) -> Self {
        Self::Fatal(message)
    }
}

impl From<&str> for Fault {
    fn from(message: &str) -> Self {
        Self::Fatal(message.to_owned())
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transient(m) | Self::Fatal(m) => f.write_str(m),
        }
    }
}

/// The sequence number of the session stream's last entry (0 when there is none).
async fn stream_last_seq(shared: &Shared, session_id: Uuid) -> Result<i64, String> {
    let key = rc_domain::live::stream_key(&shared.settings.redis.key_prefix, session_id);
    let mut conn = shared.redis.get().await.map_err(|e| e.to_string())?;
    rc_domain::live::last_seq(&mut conn, &key)
        .await
        .map_err(|e| e.to_string())
}

fn db_error(err: sqlx::Error) -> Fault {
    Fault::Transient(format!("database error: {err}"))
}

/// Longest pause between retries after a transient fault.
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(30);

/// The notification a committed event calls for: a new permission request, or a turn that
/// ended by itself (a cancelled one was cancelled by a person, who knows).
fn push_job(row: &SessionRow, event: &rc_events::SessionEvent) -> Option<rc_domain::push::PushJob> {
    use rc_domain::push::PushJob;
    match &event.body {
        EventBody::PermissionRequested {
            approval_id: Some(approval_id),
            ..
        } => Some(PushJob::ApprovalRequested {
            approval_id: *approval_id,
            session_id: row.id,
            org_id: row.org_id,
        }),
        EventBody::TaskFinished { task_id, state } if *state != TaskOutcome::Cancelled => {
            Some(PushJob::TurnFinished {
                task_id: *task_id,
                session_id: row.id,
                org_id: row.org_id,
                state: match state {
                    TaskOutcome::Succeeded => "succeeded",
                    _ => "failed",
                }
                .into(),
            })
        }
        _ => None,
    }
}
