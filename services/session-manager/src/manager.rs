//! The node's view of its sessions: routes bus commands to session actors, reconciles the
//! engine with the database at start-up, and runs the reaper and the stats sampler.

use crate::pool::WarmPool;
use crate::sandbox::Engine;
use crate::session::store::SessionRow;
use crate::session::{actor, store, Command};
use rc_bus::messages::{SessionCommand, SessionManagerMessage, TaskEvent};
use rc_config::Settings;
use rc_domain::sessions::SessionState;
use rc_model_proxy::ModelProxy;
use rc_runtime::Shutdown;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use uuid::Uuid;

/// How often the node reports its engine's health (the api trusts a report for 20 s).
const HEARTBEAT: Duration = Duration::from_secs(5);

/// What every session actor shares.
pub struct Shared {
    pub db: PgPool,
    pub engine: Engine,
    pub proxy: ModelProxy,
    /// For the live event streams (rc_domain::live).
    pub redis: deadpool_redis::Pool,
    pub pool: Arc<WarmPool>,
    pub settings: Arc<Settings>,
    pub node_id: String,
    pub shutdown: Shutdown,
    /// The agent connections of this node's attached sessions (terminals open channels on
    /// them), with the session row they were attached for.
    pub agents: Mutex<HashMap<Uuid, (rc_agent_protocol::AgentClient, SessionRow)>>,
    /// Where the api reaches this node (`sandbox_nodes.internal_url`); known once bound.
    pub advertise_url: std::sync::OnceLock<String>,
    /// For the worker's jobs (push notifications).
    pub bus: Arc<rc_bus::Bus>,
}

impl Shared {
    /// The attached agent of a session on this node.
    pub fn agent(&self, session_id: Uuid) -> Option<(rc_agent_protocol::AgentClient, SessionRow)> {
        let agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        agents
            .get(&session_id)
            .filter(|(client, _)| !client.is_closed())
            .cloned()
    }
}

pub struct Manager {
    shared: Arc<Shared>,
    actors: Mutex<HashMap<Uuid, ActorEntry>>,
    tasks: tokio::sync::Mutex<JoinSet<()>>,
}

/// A running session actor: its command channel, and a flag that turns true when it ended.
struct ActorEntry {
    tx: mpsc::UnboundedSender<Command>,
    done: tokio::sync::watch::Receiver<bool>,
}

impl Manager {
    pub fn new(shared: Shared) -> Arc<Self> {
        Arc::new(Self {
            shared: Arc::new(shared),
            actors: Mutex::new(HashMap::new()),
            tasks: tokio::sync::Mutex::new(JoinSet::new()),
        })
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    fn actors(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, ActorEntry>> {
        self.actors.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts the actor of a session this node owns. One actor per session at a time: if the
    /// previous one is still finishing (a start right after a stop), the new one waits for it,
    /// so two actors never share a sandbox or the event sequence.
    async fn spawn(self: &Arc<Self>, session_id: Uuid) {
        let previous = {
            let actors = self.actors();
            match actors.get(&session_id) {
                // Running and taking commands: nothing to do.
                Some(entry) if !entry.tx.is_closed() && !*entry.done.borrow() => return,
                Some(entry) => Some(entry.done.clone()),
                None => None,
            }
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let (done_tx, done_rx) = tokio::sync::watch::channel(false);
        self.actors().insert(
            session_id,
            ActorEntry {
                tx: tx.clone(),
                done: done_rx,
            },
        );
        let this = self.clone();
        let mut tasks = self.tasks.lock().await;
        // Forget actors that already ended (a JoinSet keeps finished tasks until joined).
        while tasks.try_join_next().is_some() {}
        tasks.spawn(async move {
            if let Some(mut previous) = previous {
                let _ = previous.wait_for(|done| *done).await;
            }
            actor::run(this.shared.clone(), session_id, rx).await;
            let _ = done_tx.send(true);
            let mut actors = this.actors();
            // Only our own entry: a newer actor may have registered meanwhile.
            if actors
                .get(&session_id)
                .is_some_and(|e| e.tx.same_channel(&tx))
            {
                actors.remove(&session_id);
            }
        });
        metrics::gauge!("rc_sessions_owned").set(self.actors().len() as f64);
    }

    /// Sends to the session's actor; false when this node runs none for it.
    fn send(&self, session_id: Uuid, command: Command) -> bool {
        self.actors()
            .get(&session_id)
            .is_some_and(|a| a.tx.send(command).is_ok())
    }

    /// Handles one bus message. An error requeues it (database or engine briefly away).
    pub async fn handle(self: &Arc<Self>, message: SessionManagerMessage) -> anyhow::Result<()> {
        let db = &self.shared.db;
        match message {
            SessionManagerMessage::Session(
                command @ (SessionCommand::Create { .. } | SessionCommand::Start { .. }),
            ) => {
                let session_id = command.session_id();
                if store::claim(db, session_id, &self.shared.node_id).await? {
                    tracing::info!(%session_id, "claimed session");
                    self.spawn(session_id).await;
                    return Ok(());
                }
                // The api publishes before its transaction commits (a broker outage then fails
                // the request instead of leaving a session nobody builds). A row that is not
                // visible yet, or still `stopped` for a start, is that window: requeue. If the
                // api's transaction rolled back, the delivery limit dead-letters the message.
                let row = store::load(db, session_id).await?;
                tracing::debug!(
                    %session_id,
                    state = ?row.as_ref().map(|r| r.state),
                    owner = ?row.as_ref().map(|r| r.node_id.clone()),
                    "not claimed"
                );
                // (The api's commit can also land between our claim and this read: a row now
                // `pending` for us is retried too, and the claim then succeeds.)
                let uncommitted = match (&command, &row) {
                    (_, None) => true,
                    (_, Some(r)) if r.deleted => false,
                    (_, Some(r)) if r.state == SessionState::Pending => r
                        .node_id
                        .as_deref()
                        .is_none_or(|n| n == self.shared.node_id),
                    (SessionCommand::Start { .. }, Some(r)) => r.state == SessionState::Stopped,
                    _ => false,
                };
                anyhow::ensure!(
                    !uncommitted,
                    "session {session_id} is not visible in its new state yet"
                );
            }
            SessionManagerMessage::Session(SessionCommand::Stop {
                session_id, reason, ..
            }) => {
                if !self.send(
                    session_id,
                    Command::Stop {
                        reason: reason.clone(),
                    },
                ) {
                    self.end_without_actor(session_id, &reason, false).await?;
                }
            }
            SessionManagerMessage::Session(SessionCommand::Control {
                session_id,
                control,
                ..
            }) => {
                // A session this node does not run has nothing live to change: its row
                // already holds the new settings for its next start.
                self.send(session_id, Command::Control(control));
            }
            SessionManagerMessage::Session(SessionCommand::Delete { session_id, .. }) => {
                if !self.send(session_id, Command::Delete) {
                    self.end_without_actor(session_id, "deleted", true).await?;
                }
            }
            SessionManagerMessage::Task(TaskEvent::Queued { session_id, .. }) => {
                // Not ours (or not started yet): the owner's actor polls its queue anyway.
                self.send(session_id, Command::TaskQueued);
            }
            SessionManagerMessage::Task(TaskEvent::Cancel {
                session_id,
                task_id,
                ..
            }) => {
                self.send(session_id, Command::TaskCancel { task_id });
            }
            SessionManagerMessage::Task(TaskEvent::ApprovalDecided {
                session_id,
                approval_id,
                ..
            }) => {
                // Not ours: the owner's actor delivers it when it re-attaches.
                self.send(session_id, Command::ApprovalDecided { approval_id });
            }
            SessionManagerMessage::Task(TaskEvent::FileChanged {
                session_id,
                path,
                change,
                ..
            }) => {
                self.send(session_id, Command::FileChanged { path, change });
            }
        }
        Ok(())
    }

    /// Stop or delete for a session no actor runs: never claimed, already failed, or this
    /// node restarted. Removes what is left of the sandbox and records the end.
    async fn end_without_actor(
        &self,
        session_id: Uuid,
        reason: &str,
        delete: bool,
    ) -> anyhow::Result<()> {
        let db = &self.shared.db;
        let Some(row) = store::load(db, session_id).await? else {
            return Ok(());
        };
        if row
            .node_id
            .as_deref()
            .is_some_and(|n| n != self.shared.node_id)
        {
            // Another node owns it; a misrouted message (e.g. sent before the claim).
            return Ok(());
        }
        if let Some(sandbox) = &row.sandbox_name {
            // Recorded even when the engine is away: a stop must not stay "stopping" (and
            // block a later start) because of it; the next reconcile removes the leftovers.
            if let Err(err) = self.shared.engine.remove_sandbox(sandbox, delete).await {
                tracing::warn!(%session_id, %err, "could not remove the sandbox; recording the end anyway");
            }
        }
        if matches!(
            row.state,
            SessionState::Pending
                | SessionState::Starting
                | SessionState::Running
                | SessionState::Stopping
        ) {
            store::end_open_tasks(db, session_id, &format!("session {reason}")).await?;
            store::set_state(db, session_id, SessionState::Stopped, Some(reason)).await?;
        }
        Ok(())
    }

    /// Brings the engine and the database into agreement after a start (or a crash):
    /// containers without a live session are removed, sessions whose sandbox should run get
    /// their actor back (which re-attaches, replays, or fails them if the container vanished),
    /// and stops that were under way are finished.
    pub async fn reconcile(self: &Arc<Self>) -> anyhow::Result<()> {
        let shared = &self.shared;
        let rows = sqlx::query!(
            r#"SELECT id, state AS "state: SessionState", sandbox_name, deleted_at IS NOT NULL AS "deleted!"
               FROM sessions WHERE node_id = $1 AND (deleted_at IS NULL OR state NOT IN ('stopped', 'failed'))"#,
            shared.node_id
        )
        .fetch_all(&shared.db)
        .await?;
        let live: HashMap<String, (Uuid, SessionState, bool)> = rows
            .iter()
            .filter_map(|r| {
                r.sandbox_name
                    .clone()
                    .map(|n| (n, (r.id, r.state, r.deleted)))
            })
            .collect();
        let mut removed = 0;
        let containers = match shared.engine.list_managed(&shared.node_id).await {
            Ok(list) => list,
            Err(err) => {
                // Sessions still get their actors (which fail them with the reason); leftover
                // containers are cleaned up at the next start with the engine up.
                tracing::warn!(%err, "cannot list sandboxes; skipping container cleanup");
                Vec::new()
            }
        };
        for container in containers {
            // The row naming the sandbox decides, not the pool label: a claimed pool
            // sandbox keeps that label (Docker labels are immutable) for its whole life.
            let row = live.get(&container.name);
            let keep = row.is_some_and(|(_, state, deleted)| {
                !deleted && matches!(state, SessionState::Starting | SessionState::Running)
            });
            if !keep {
                let delete_volumes = row.is_none_or(|(_, _, deleted)| *deleted);
                match shared
                    .engine
                    .remove_sandbox(&container.name, delete_volumes)
                    .await
                {
                    Ok(()) => removed += 1,
                    Err(err) => {
                        tracing::warn!(sandbox = %container.name, %err, "could not remove a leftover sandbox")
                    }
                }
            }
        }
        let mut resumed = 0;
        for row in &rows {
            match row.state {
                SessionState::Starting | SessionState::Running if !row.deleted => {
                    self.spawn(row.id).await;
                    resumed += 1;
                }
                // A start the api accepted while this node was down: its message may still be
                // queued (then the claim here makes it a no-op) or already dead-lettered.
                SessionState::Pending if !row.deleted => {
                    if store::claim(&shared.db, row.id, &shared.node_id).await? {
                        self.spawn(row.id).await;
                        resumed += 1;
                    }
                }
                SessionState::Stopped | SessionState::Failed => {}
                _ => {
                    let reason = if row.deleted { "deleted" } else { "stopped" };
                    if let Err(err) = self.end_without_actor(row.id, reason, row.deleted).await {
                        tracing::warn!(session_id = %row.id, %err, "could not finish a stop at start-up");
                    }
                }
            }
        }
        tracing::info!(removed, resumed, "reconciled sandboxes with sessions");
        Ok(())
    }

    /// Stops sessions idle longer than their idle timeout, or running longer than their
    /// maximum duration, with the reason on the row.
    pub async fn reap(&self) -> anyhow::Result<()> {
        let due = sqlx::query!(
            r#"SELECT s.id,
                      s.started_at < now() - make_interval(secs => (s.limits->>'max_duration_secs')::float8) AS "too_old!",
                      (s.limits->>'idle_timeout_secs')::bigint AS "idle_secs!",
                      (s.limits->>'max_duration_secs')::bigint AS "max_secs!"
               FROM sessions s
               WHERE s.node_id = $1 AND s.state = 'running' AND s.deleted_at IS NULL
                 AND (s.started_at < now() - make_interval(secs => (s.limits->>'max_duration_secs')::float8)
                      OR (COALESCE(s.last_activity_at, s.started_at) < now() - make_interval(secs => (s.limits->>'idle_timeout_secs')::float8)
                          AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.session_id = s.id AND t.state IN ('queued', 'running'))))"#,
            self.shared.node_id
        )
        .fetch_all(&self.shared.db)
        .await?;
        for row in due {
            let reason = if row.too_old {
                format!("reached the maximum duration of {}s", row.max_secs)
            } else {
                format!("idle for more than {}s", row.idle_secs)
            };
            tracing::info!(session_id = %row.id, %reason, "reaping");
            metrics::counter!("rc_sessions_reaped_total").increment(1);
            self.send(row.id, Command::Stop { reason });
        }
        Ok(())
    }

    /// Samples CPU, memory and network of every running sandbox into `sessions.stats` and the
    /// session's event stream (`container_stats`).
    pub async fn sample_stats(&self) -> anyhow::Result<()> {
        let running = sqlx::query!(
            "SELECT id, sandbox_name AS \"sandbox_name!\" FROM sessions WHERE node_id = $1 AND state = 'running' AND sandbox_name IS NOT NULL",
            self.shared.node_id
        )
        .fetch_all(&self.shared.db)
        .await?;
        for row in running {
            match self.shared.engine.stats(&row.sandbox_name).await {
                Ok(stats) => {
                    let value = serde_json::to_value(&stats)?;
                    sqlx::query!(
                        "UPDATE sessions SET stats = $2 WHERE id = $1",
                        row.id,
                        value
                    )
                    .execute(&self.shared.db)
                    .await?;
                    self.send(
                        row.id,
                        Command::Stats(rc_events::ContainerStats {
                            cpu_cores: stats.cpu_cores,
                            memory_bytes: stats.memory_bytes,
                            memory_limit_bytes: Some(stats.memory_limit_bytes),
                            network_rx_bytes: stats.network_rx_bytes,
                            network_tx_bytes: stats.network_tx_bytes,
                            pids: stats.pids,
                        }),
                    );
                }
                Err(err) => tracing::debug!(session_id = %row.id, %err, "no stats sample"),
            }
        }
        Ok(())
    }

    /// Tells the api (through `sandbox_nodes`) whether this node can create sandboxes.
    pub async fn heartbeat(&self) -> anyhow::Result<()> {
        let engine = self.shared.engine.ping().await;
        metrics::gauge!("rc_docker_engine_up").set(if engine.is_ok() { 1.0 } else { 0.0 });
        let sessions = i32::try_from(self.actors().len()).unwrap_or(i32::MAX);
        let pool_ready = i32::try_from(self.shared.pool.ready_count()).unwrap_or(i32::MAX);
        sqlx::query!(
            "INSERT INTO sandbox_nodes (node_id, engine_ok, engine_error, pool_ready, sessions, heartbeat_at, internal_url)
             VALUES ($1, $2, $3, $4, $5, now(), $6)
             ON CONFLICT (node_id) DO UPDATE SET engine_ok = $2, engine_error = $3, pool_ready = $4,
                 sessions = $5, heartbeat_at = now(), internal_url = $6",
            self.shared.node_id,
            engine.is_ok(),
            engine.err().map(|e| e.to_string()),
            pool_ready,
            sessions,
            self.shared.advertise_url.get()
        )
        .execute(&self.shared.db)
        .await?;
        Ok(())
    }

    /// A node that stops says so, so the api does not wait for its heartbeat to age.
    pub async fn deregister(&self) {
        if let Err(err) = sqlx::query!(
            "DELETE FROM sandbox_nodes WHERE node_id = $1",
            self.shared.node_id
        )
        .execute(&self.shared.db)
        .await
        {
            tracing::warn!(%err, "could not deregister the node");
        }
    }

    /// The heartbeat, in its own loop so slow engine calls elsewhere cannot age it.
    pub async fn run_heartbeat(self: Arc<Self>) {
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        loop {
            tokio::select! {
                () = self.shared.shutdown.wait() => break,
                _ = heartbeat.tick() => if let Err(err) = self.heartbeat().await {
                    tracing::warn!(%err, "heartbeat failed");
                },
            }
        }
    }

    /// The reaper and stats loops, until shutdown.
    pub async fn run_periodic(self: Arc<Self>) {
        let settings = &self.shared.settings.session_manager;
        let mut reap =
            tokio::time::interval(Duration::from_secs(settings.reap_interval_secs.max(1)));
        let stats_every = settings.stats_interval_secs;
        let mut stats = tokio::time::interval(Duration::from_secs(stats_every.max(1)));
        loop {
            tokio::select! {
                () = self.shared.shutdown.wait() => break,
                _ = reap.tick() => if let Err(err) = self.reap().await {
                    tracing::warn!(%err, "reaper pass failed");
                },
                _ = stats.tick(), if stats_every > 0 => if let Err(err) = self.sample_stats().await {
                    tracing::warn!(%err, "stats pass failed");
                },
            }
        }
    }

    /// Waits for every actor to finish after shutdown was triggered.
    pub async fn drain(&self) {
        let mut tasks = self.tasks.lock().await;
        while tasks.join_next().await.is_some() {}
    }
}
