//! Benchmark target for `bench/live-session.sh`: how fast a live session's events reach its
//! WebSocket clients. It prints figures and never asserts them.
//!
//! Everything is real except the model: the api and session-manager run in this process
//! (`Application::build` + `run_until_stopped`, as in `tests/live/main.rs`) against a
//! throw-away Postgres database cloned from the migrated template (`rc_testkit::TestDb`),
//! Redis (its own key prefix), RabbitMQ (its own exchange), the Docker engine and the
//! `local/claude-sandbox:latest` image (the real agent and Claude Code CLI), talking to the
//! scripted model server (fake-anthropic) on a random port. Clients use the public API only:
//! REST with an owner's API token and the events WebSocket.
//!
//! One session (permission mode `default`) serves every measurement, after one unmeasured
//! turn so its CLI is up:
//!
//! 1. **relay**: `N` WebSocket clients (`N` = 1 and 20) connect to
//!    `/api/v1/sessions/{id}/events?after_seq=<last>`, then a task with the prompt
//!    `[[lines:2000:1]]` (2,000 text deltas, no pauses) is queued. Every client stamps each frame
//!    with the wall clock the moment it comes off the socket. "Added latency" of an event is that
//!    stamp minus the event's `at`, the time session-manager stored it. `at` is the
//!    `session_events.created_at` default, Postgres `now()`: the *start* of the transaction
//!    that wrote the event's batch (session-manager writes up to 256 queued CLI lines in one
//!    transaction). So the figure covers waiting for the rest of the batch and its commit, the
//!    publish to the Redis stream, the api's `XREAD`, its fan-out, serialising the frame and
//!    the socket, plus this process's own scheduling of the client task. Everything runs on
//!    one machine, so the two clocks are the same clock.
//! 2. **first text**: on the warm session, `FIRST_TEXT_RUNS` times, a plain prompt is queued
//!    (`POST /api/v1/sessions/{id}/tasks`); the clock starts just before the POST and stops
//!    when the task's first `text_delta` arrives on an already-connected WebSocket.
//! 3. **approval**: `APPROVAL_RUNS` times, `[[tool:Bash:echo approved-run > ok-<i>.txt; cat
//!    ok-<i>.txt]]` is queued; once `permission_requested` has arrived, the clock starts just
//!    before `POST /api/v1/approvals/{id}/decision {"decision":"allow"}` and stops at the
//!    `approval_decided` event (session-manager appends it right after writing the answer to
//!    the CLI's stdin) and at the tool's `tool_result` event.
//!
//! At the end, and on error or Ctrl-C/SIGTERM, the bench stops both services, removes every
//! container and volume labelled `remote-claude.node=<bench node>`, deletes its exchange,
//! queues and Redis keys, and drops the database.
//!
//! Output: a report, a summary table with the targets, then `RESULT key=value …` lines.
//! Percentiles use the nearest rank (p99 of 2,000 values = the 1,980th smallest).
//!
//! Knobs (environment): `RELAY_RUNS` (3, turns per client count and pace), `RELAY_CLIENTS`
//! (`1,20`), `RELAY_LINES` (2000), `RELAY_PACE_MS` (`0,1`: 0 = the model streams every delta
//! with no pause, the CLI printing as fast as it can; 1 = a delta every millisecond),
//! `RELAY_SLOWEST` (0: name the slowest events), `FIRST_TEXT_RUNS` (10), `APPROVAL_RUNS` (5),
//! `RUST_LOG` (`warn`).
//! Postgres: `REMOTE_CLAUDE_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432`).
//! Redis and RabbitMQ: the defaults in `rc_config::Settings::default()`.
//!
//! ```sh
//! SQLX_OFFLINE=true cargo run --release -p api --example bench_live
//! ```

#![allow(clippy::print_stdout)]

use anyhow::{anyhow, bail, Context};
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use rc_auth::{authorize, perm, Actor, Credential, RequestMeta, Role};
use rc_config::Settings;
use rc_testkit::bench::{interrupted, machine};
use serde_json::{json, Value};
use std::str::FromStr;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

const IMAGE: &str = "local/claude-sandbox:latest";
/// A cold sandbox plus the CLI's start on a loaded 2-core machine.
const START_BOUND: Duration = Duration::from_secs(120);
/// Longest one turn (including the 2,000-line one to 20 clients) may take.
const TURN_BOUND: Duration = Duration::from_secs(180);
/// Targets from the issue; printed next to the figures, never asserted.
const TARGET_P99_MS: f64 = 5.0;
const TARGET_FIRST_TEXT_MS: f64 = 300.0;

struct Knobs {
    relay_runs: usize,
    relay_clients: Vec<usize>,
    relay_lines: u32,
    /// Milliseconds between the model's deltas; 0 streams them with no pause at all.
    relay_paces: Vec<u64>,
    first_text_runs: usize,
    approval_runs: usize,
}

fn env_or<T: FromStr>(name: &str, default: T) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().map_err(|e| anyhow!("{name}={v}: {e}")),
        _ => Ok(default),
    }
}

impl Knobs {
    fn from_env() -> anyhow::Result<Self> {
        let clients: String = env_or("RELAY_CLIENTS", "1,20".to_owned())?;
        let relay_clients = clients
            .split(',')
            .map(|c| {
                c.trim()
                    .parse::<usize>()
                    .map_err(|e| anyhow!("RELAY_CLIENTS={clients}: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let knobs = Self {
            relay_runs: env_or("RELAY_RUNS", 3)?,
            relay_clients,
            relay_lines: env_or("RELAY_LINES", 2000)?,
            relay_paces: env_or("RELAY_PACE_MS", "0,1".to_owned())?
                .split(',')
                .map(|p| {
                    p.trim()
                        .parse::<u64>()
                        .map_err(|e| anyhow!("RELAY_PACE_MS: {p}: {e}"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?,
            first_text_runs: env_or("FIRST_TEXT_RUNS", 10)?,
            approval_runs: env_or("APPROVAL_RUNS", 5)?,
        };
        if knobs.relay_runs == 0
            || knobs.relay_clients.contains(&0)
            || knobs.relay_paces.is_empty()
            || knobs.relay_lines == 0
            || knobs.first_text_runs == 0
            || knobs.approval_runs == 0
        {
            bail!("every run count, client count and RELAY_LINES must be at least 1");
        }
        Ok(knobs)
    }
}

/// One service of the platform on a runtime of its own, as its own process would have its own
/// scheduler: a busy part (the scripted model writing a 2,000-line reply, the bench's 20
/// clients) cannot hold up another part's tasks the way one shared runtime would, where a
/// task woken by a busy one waits until that one yields.
struct Service {
    name: &'static str,
    runtime: Option<tokio::runtime::Runtime>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Service {
    /// Runs `run` on a new runtime with `workers` threads; returns once it sent what the
    /// caller needs (an address), or with its error.
    async fn start<T, F, Fut>(
        name: &'static str,
        workers: usize,
        run: F,
    ) -> anyhow::Result<(Self, T)>
    where
        T: Send + 'static,
        F: FnOnce(oneshot::Sender<T>, oneshot::Receiver<()>) -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name(name)
            .enable_all()
            .build()
            .with_context(|| format!("{name} runtime"))?;
        let (ready_tx, ready_rx) = oneshot::channel();
        let (stop, stop_rx) = oneshot::channel();
        let task = runtime.spawn(run(ready_tx, stop_rx));
        match ready_rx.await {
            Ok(ready) => Ok((
                Self {
                    name,
                    runtime: Some(runtime),
                    stop: Some(stop),
                    task,
                },
                ready,
            )),
            Err(_) => {
                let err = match task.await {
                    Ok(Err(err)) => err.context(format!("{name} did not start")),
                    Ok(Ok(())) => anyhow!("{name} stopped before it was ready"),
                    Err(err) => anyhow!("{name} panicked: {err}"),
                };
                runtime.shutdown_background();
                Err(err)
            }
        }
    }

    /// Asks it to stop, waits (bounded), and reports how it ended.
    async fn stop(mut self) {
        let name = self.name;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(Duration::from_secs(30), &mut self.task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(err))) => println!("cleanup: {name} stopped with an error: {err:#}"),
            Ok(Err(err)) => println!("cleanup: {name} task failed: {err}"),
            Err(_) => println!("cleanup: {name} did not stop within 30 s"),
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The api and session-manager in this process, and what a client needs to talk to them.
struct Harness {
    db: Option<rc_testkit::TestDb>,
    settings: Settings,
    node: String,
    /// The scripted model server's base URL.
    upstream: String,
    address: String,
    token: String,
    http: reqwest::Client,
    api: Option<Service>,
    sm: Option<Service>,
    fake: Option<Service>,
}

impl Harness {
    async fn start() -> anyhow::Result<Self> {
        let db = rc_testkit::TestDb::new()
            .await
            .context("test database (is Postgres up? scripts/start-backing-services.sh)")?;
        let unique = Uuid::new_v4().simple().to_string();
        let mut settings = Settings::default();
        settings.database = db.settings();
        settings.redis.key_prefix = format!("rcbench-{unique}");
        settings.amqp.exchange = format!("rcbench-{unique}");
        settings.api.port = 0;
        settings.api.frontend_dir = String::new();
        // 20 sockets and a burst of REST calls from one token must never be throttled.
        settings.api.rate_limit.per_second = 100_000;
        settings.api.rate_limit.burst = 100_000;
        settings.telemetry.otlp_endpoint = String::new();

        let (fake, upstream) = Service::start("fake-model", 1, |ready, stop| async move {
            let fake = fake_anthropic::FakeAnthropic::bind(&fake_anthropic::Config {
                port: 0,
                ..Default::default()
            })
            .context("fake model server")?;
            let _ = ready.send(fake.base_url());
            fake.run_until_stopped(async move {
                let _ = stop.await;
            })
            .await
            .context("fake model server")
        })
        .await?;

        Ok(Self {
            db: Some(db),
            node: format!("bench-{}", &unique[..12]),
            settings,
            upstream,
            address: String::new(),
            token: String::new(),
            http: reqwest::Client::new(),
            api: None,
            sm: None,
            fake: Some(fake),
        })
    }

    /// Starts session-manager and the api and creates the owner's token. Separate from
    /// [`Harness::start`] so that `cleanup` runs whatever part of this succeeded.
    async fn boot(&mut self) -> anyhow::Result<()> {
        let mut sm_settings = self.settings.clone();
        sm_settings.session_manager.port = 0;
        sm_settings.session_manager.node_id = self.node.clone();
        sm_settings.session_manager.sandbox_image = IMAGE.into();
        sm_settings.session_manager.start_timeout_secs = 60;
        sm_settings.session_manager.stop_grace_secs = 1;
        sm_settings.model_proxy.upstream_url = self.upstream.clone();
        sm_settings.model_proxy.api_key = Some(rc_config::Secret::new(format!(
            "sk-ant-BENCH-{}",
            Uuid::new_v4().simple()
        )));
        // Two workers each, the default on this 2-core machine.
        let (sm, ()) = Service::start("session-manager", 2, |ready, stop| async move {
            let sm = session_manager::Application::build(sm_settings)
                .await
                .context("session-manager builds")?;
            let _ = ready.send(());
            sm.run_until_stopped(async move {
                let _ = stop.await;
            })
            .await
        })
        .await?;
        self.sm = Some(sm);
        let settings = self.settings.clone();
        let (api, port) = Service::start("api", 2, |ready, stop| async move {
            let api = api::startup::Application::build(settings)
                .await
                .context("api builds")?;
            let _ = ready.send(api.port());
            api.run_until_stopped(async move {
                let _ = stop.await;
            })
            .await
        })
        .await?;
        self.api = Some(api);
        self.address = format!("http://127.0.0.1:{port}");
        self.token = self.owner_token().await?;
        Ok(())
    }

    /// An organisation, its owner and an API token with every scope an owner can grant,
    /// inserted directly (the login flow is not what is measured).
    async fn owner_token(&self) -> anyhow::Result<String> {
        let pool = &self.db.as_ref().context("database gone")?.pool;
        let (org, user) = (Uuid::now_v7(), Uuid::now_v7());
        sqlx::query("INSERT INTO organizations (id, name, slug) VALUES ($1, 'Bench', $2)")
            .bind(org)
            .bind(format!("bench-{}", org.simple()))
            .execute(pool)
            .await
            .context("insert organisation")?;
        sqlx::query("INSERT INTO users (id, email, email_verified) VALUES ($1, $2, true)")
            .bind(user)
            .bind(format!("bench-{}@example.com", user.simple()))
            .execute(pool)
            .await
            .context("insert user")?;
        sqlx::query("INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, 'owner')")
            .bind(org)
            .bind(user)
            .execute(pool)
            .await
            .context("insert membership")?;
        let actor = Actor {
            user_id: user,
            email: "bench@example.com".into(),
            org_id: org,
            role: Role::Owner,
            credential: Credential::LoginSession,
            meta: RequestMeta::default(),
        };
        let granted = authorize::<perm::TokensManage>(actor)
            .map_err(|e| anyhow!("owner may manage tokens: {e:?}"))?;
        let token = rc_domain::tokens::create(
            pool,
            &granted,
            rc_domain::tokens::CreateToken {
                name: "bench".into(),
                scopes: Role::Owner.grantable_scopes().to_vec(),
                expires_in_days: None,
            },
        )
        .await
        .map_err(|e| anyhow!("create token: {e:?}"))?;
        Ok(token.secret)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.address))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = res.status().as_u16();
        let text = res
            .text()
            .await
            .with_context(|| format!("{method} {path}: body"))?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    /// Creates a session through the REST API and waits until it is `running`.
    async fn running_session(&self, permission_mode: &str) -> anyhow::Result<Uuid> {
        let (status, session) = self
            .call(
                reqwest::Method::POST,
                "/api/v1/sessions",
                Some(json!({"name": "bench", "permission_mode": permission_mode})),
            )
            .await?;
        if status != 201 {
            bail!("create session: {status} {session}");
        }
        let id: Uuid = session["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("session id in {session}"))?;
        let deadline = Instant::now() + START_BOUND;
        loop {
            let (_, s) = self
                .call(
                    reqwest::Method::GET,
                    &format!("/api/v1/sessions/{id}"),
                    None,
                )
                .await?;
            match s["state"].as_str() {
                Some("running") => return Ok(id),
                Some("failed") | Some("stopped") => bail!("session {id} ended: {s}"),
                _ if Instant::now() > deadline => {
                    bail!("session {id} not running after {START_BOUND:?}: {s}")
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Queues a task; returns its id.
    async fn queue(&self, session: Uuid, prompt: &str) -> anyhow::Result<Uuid> {
        let (status, task) = self
            .call(
                reqwest::Method::POST,
                &format!("/api/v1/sessions/{session}/tasks"),
                Some(json!({ "prompt": prompt })),
            )
            .await?;
        if status != 201 {
            bail!("queue task: {status} {task}");
        }
        task["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("task id in {task}"))
    }

    /// The session's highest stored event sequence number.
    async fn last_seq(&self, session: Uuid) -> anyhow::Result<i64> {
        let pool = &self.db.as_ref().context("database gone")?.pool;
        let seq: i64 = sqlx::query_scalar(
            "SELECT COALESCE(max(seq), 0) FROM session_events WHERE session_id = $1",
        )
        .bind(session)
        .fetch_one(pool)
        .await
        .context("last seq")?;
        Ok(seq)
    }

    async fn feed(&self, session: Uuid, after_seq: i64) -> anyhow::Result<Feed> {
        let url = format!(
            "{}/api/v1/sessions/{session}/events?after_seq={after_seq}",
            self.address.replace("http://", "ws://")
        );
        let mut request = url.into_client_request().context("websocket request")?;
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {}", self.token)
                .parse()
                .context("authorization header")?,
        );
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .context("events websocket")?;
        Ok(Feed::spawn(socket, after_seq))
    }

    async fn cleanup(&mut self) {
        for service in [self.sm.take(), self.api.take(), self.fake.take()]
            .into_iter()
            .flatten()
        {
            service.stop().await;
        }
        let (containers, volumes) = remove_sandboxes(&self.node);
        // The node queue is not part of the shared topology, so it is deleted on its own.
        let amqp = self.settings.amqp.clone();
        let node = self.node.clone();
        let bus_deleted = async {
            let conn = lapin::Connection::connect(
                amqp.url.expose(),
                lapin::ConnectionProperties::default(),
            )
            .await?;
            let channel = conn.create_channel().await?;
            let topology = rc_bus::topology::Topology::new(&amqp.exchange, amqp.max_deliveries);
            topology.delete_node_queue(&channel, &node).await?;
            topology.delete(&channel).await?;
            let _ = conn.close(200, "done").await;
            anyhow::Ok(())
        }
        .await;
        if let Err(err) = bus_deleted {
            println!(
                "cleanup: could not delete exchange {}: {err:#}",
                amqp.exchange
            );
        }
        let keys = match delete_redis_keys(&self.settings).await {
            Ok(n) => n,
            Err(err) => {
                println!("cleanup: could not delete Redis keys: {err:#}");
                0
            }
        };
        let mut db = String::new();
        if let Some(test_db) = self.db.take() {
            db = test_db.name.clone();
            test_db.pool.close().await;
            // Dropping it drops the database (WITH FORCE).
            drop(test_db);
        }
        println!(
            "cleanup: removed {containers} container(s) and {volumes} volume(s) of node {}; deleted exchange {} and {keys} Redis key(s); dropped database {db}",
            self.node, self.settings.amqp.exchange
        );
    }
}

/// `docker rm -f` every container of the node, and its volumes; returns the counts removed.
fn remove_sandboxes(node: &str) -> (usize, usize) {
    let label = format!("label=remote-claude.node={node}");
    let list = |args: &[&str]| {
        std::process::Command::new("docker")
            .args(args)
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let ok = |args: &[&str]| {
        std::process::Command::new("docker")
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let mut volumes: Vec<String> = Vec::new();
    let mut containers = 0;
    for name in list(&["ps", "-a", "--format", "{{.Names}}", "--filter", &label]) {
        if ok(&["rm", "-f", &name]) {
            containers += 1;
        }
        volumes.push(session_manager::sandbox::spec::workspace_volume(&name));
        volumes.push(session_manager::sandbox::spec::home_volume(&name));
    }
    volumes.extend(list(&["volume", "ls", "-q", "--filter", &label]));
    volumes.sort();
    volumes.dedup();
    let removed = volumes
        .iter()
        .filter(|v| ok(&["volume", "rm", "-f", v.as_str()]))
        .count();
    (containers, removed)
}

/// Deletes the bench's Redis keys (`<prefix>:*`: event streams, rate limiter, caches).
async fn delete_redis_keys(settings: &Settings) -> anyhow::Result<usize> {
    use deadpool_redis::redis;
    let pool = rc_runtime::checks::redis_pool(settings.redis.url.expose(), 1)?;
    let mut conn = pool.get().await.context("redis connection")?;
    let pattern = format!("{}:*", settings.redis.key_prefix);
    let mut cursor: u64 = 0;
    let mut deleted = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(500)
            .query_async(&mut conn)
            .await
            .context("SCAN")?;
        if !keys.is_empty() {
            let n: usize = redis::cmd("DEL")
                .arg(&keys)
                .query_async(&mut conn)
                .await
                .context("DEL")?;
            deleted += n;
        }
        if next == 0 {
            return Ok(deleted);
        }
        cursor = next;
    }
}

// ------------------------------------------------------------------------------ clients

/// One event as a client received it.
struct Received {
    /// Wall clock when the frame came off the socket.
    wall: DateTime<Utc>,
    instant: Instant,
    event: Value,
}

impl Received {
    fn kind(&self) -> &str {
        self.event["kind"].as_str().unwrap_or("")
    }

    fn is_of(&self, task: Uuid) -> bool {
        self.event["task_id"].as_str() == Some(task.to_string().as_str())
    }

    /// Receive time minus the event's `at`, in ms.
    fn added_ms(&self) -> anyhow::Result<f64> {
        let at = self.event["at"]
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .with_context(|| format!("`at` of {}", self.event))?;
        let delta = self.wall.signed_duration_since(at.with_timezone(&Utc));
        Ok(delta.num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0)
    }
}

/// A connected events WebSocket. A task of its own reads the socket and stamps each frame as
/// it arrives, so the stamp does not wait for the bench to look at the frame (JSON parsing
/// happens later, on the bench's side of the channel).
struct Feed {
    frames: mpsc::UnboundedReceiver<(DateTime<Utc>, Instant, String)>,
    reader: tokio::task::JoinHandle<()>,
    expected: i64,
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl Feed {
    fn spawn(mut socket: Socket, after_seq: i64) -> Self {
        let (tx, frames) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            // Reading also answers the server's pings (tungstenite queues the pong).
            while let Some(Ok(message)) = socket.next().await {
                if let Message::Text(text) = message {
                    let stamp = (Utc::now(), Instant::now(), text.as_str().to_owned());
                    if tx.send(stamp).is_err() {
                        break;
                    }
                }
            }
        });
        Self {
            frames,
            reader,
            expected: after_seq + 1,
        }
    }

    /// Events until (and including) the first one `until` accepts. Checks that sequence
    /// numbers are consecutive: a gap would mean the figures are not of the live path.
    async fn until(
        &mut self,
        mut until: impl FnMut(&Received) -> bool,
    ) -> anyhow::Result<Vec<Received>> {
        let deadline = tokio::time::Instant::now() + TURN_BOUND;
        let mut events = Vec::new();
        loop {
            let (wall, instant, text) = tokio::time::timeout_at(deadline, self.frames.recv())
                .await
                .map_err(|_| {
                    let kinds: Vec<String> = events
                        .iter()
                        .rev()
                        .take(10)
                        .map(|e: &Received| e.kind().to_owned())
                        .collect();
                    anyhow!("no matching event within {TURN_BOUND:?}; last kinds (newest first): {kinds:?}")
                })?
                .context("events websocket closed")?;
            let frame: Value = serde_json::from_str(&text).context("frame is JSON")?;
            if frame["type"] != "event" {
                bail!("unexpected frame: {frame}");
            }
            let event = frame["event"].clone();
            let seq = event["seq"].as_i64().context("event seq")?;
            if seq != self.expected {
                bail!("expected seq {}, got {seq}: {event}", self.expected);
            }
            self.expected += 1;
            let received = Received {
                wall,
                instant,
                event,
            };
            let stop = until(&received);
            events.push(received);
            if stop {
                return Ok(events);
            }
        }
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

fn finished(task: Uuid) -> impl FnMut(&Received) -> bool {
    move |e| e.kind() == "task_finished" && e.is_of(task)
}

// ------------------------------------------------------------------------------ statistics

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    values
}

fn median(values: &[f64]) -> f64 {
    percentile(&sorted(values.to_vec()), 50.0)
}

fn verdict(value: f64, target: f64) -> &'static str {
    if value <= target {
        "met"
    } else {
        "NOT met"
    }
}

// ------------------------------------------------------------------------------ phases

/// One relayed turn, as seen by all its clients.
struct RelayRun {
    /// Events of the task, per client (the same for every client).
    events: usize,
    text_deltas: usize,
    /// Median over clients of events / (last receive − first receive).
    events_per_s: f64,
    /// Slowest client's rate.
    events_per_s_min: f64,
    added_p50: f64,
    added_p99: f64,
    added_max: f64,
    /// POST → `task_finished` at the last client.
    turn_ms: f64,
    /// The largest added latency in each tenth of the task's events (in sequence order, over
    /// all clients): a backlog that builds up over the turn shows as a rising profile, a
    /// stall as one high tenth.
    tenths_max: Vec<f64>,
}

/// The prompt of a relay turn: `lines` text deltas, with no pause (`pace_ms` 0) or `pace_ms`
/// apart.
fn relay_prompt(lines: u32, pace_ms: u64) -> String {
    if pace_ms == 0 {
        format!("[[lines:{lines}:1]]")
    } else {
        format!("[[slow:{lines}:{pace_ms}]]")
    }
}

async fn relay_run(
    harness: &Harness,
    session: Uuid,
    clients: usize,
    prompt: &str,
) -> anyhow::Result<RelayRun> {
    let after = harness.last_seq(session).await?;
    let mut feeds = Vec::with_capacity(clients);
    for _ in 0..clients {
        feeds.push(harness.feed(session, after).await?);
    }
    // Each socket's server side subscribes to the live stream after the upgrade; give every
    // one time to do so, so no client starts on the Postgres catch-up path.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let task = harness
        .queue(session, &format!("relay benchmark {prompt}"))
        .await?;
    let mut per_client = Vec::with_capacity(clients);
    for feed in &mut feeds {
        per_client.push(feed.until(finished(task)).await?);
    }
    drop(feeds);

    let mut added = Vec::new();
    let mut rates = Vec::new();
    let mut last_finish = started;
    let mut events = 0;
    let mut text_deltas = 0;
    let mut tenths_max = vec![0.0f64; 10];
    // RELAY_SLOWEST=N: name the N slowest events of the first client (where the tail is).
    let slowest: usize = env_or("RELAY_SLOWEST", 0)?;
    if let Some(received) = per_client.first().filter(|_| slowest > 0) {
        let mut of_task: Vec<(f64, &Received)> = received
            .iter()
            .filter(|e| e.is_of(task))
            .map(|e| e.added_ms().map(|ms| (ms, e)))
            .collect::<anyhow::Result<_>>()?;
        of_task.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (ms, e) in of_task.iter().take(slowest) {
            println!(
                "      slow: seq {} {} {:.2} ms",
                e.event["seq"],
                e.kind(),
                ms
            );
        }
    }
    for received in &per_client {
        let of_task: Vec<&Received> = received.iter().filter(|e| e.is_of(task)).collect();
        events = of_task.len();
        text_deltas = of_task.iter().filter(|e| e.kind() == "text_delta").count();
        for (i, e) in of_task.iter().enumerate() {
            let added_ms = e.added_ms()?;
            added.push(added_ms);
            let tenth = (i * 10 / of_task.len()).min(9);
            tenths_max[tenth] = tenths_max[tenth].max(added_ms);
        }
        if let (Some(first), Some(last)) = (of_task.first(), of_task.last()) {
            let span = last.instant.duration_since(first.instant).as_secs_f64();
            if span > 0.0 {
                rates.push(of_task.len() as f64 / span);
            }
            last_finish = last_finish.max(last.instant);
        }
    }
    let added = sorted(added);
    Ok(RelayRun {
        events,
        text_deltas,
        events_per_s: median(&rates),
        events_per_s_min: rates.iter().copied().fold(f64::INFINITY, f64::min),
        added_p50: percentile(&added, 50.0),
        added_p99: percentile(&added, 99.0),
        added_max: added.last().copied().unwrap_or(f64::NAN),
        turn_ms: ms(last_finish.duration_since(started)),
        tenths_max,
    })
}

struct RelaySummary {
    clients: usize,
    pace_ms: u64,
    events_per_s: f64,
    added_p50: f64,
    added_p99: f64,
    turn_ms: f64,
    events: usize,
}

async fn relay_phase(
    harness: &Harness,
    session: Uuid,
    knobs: &Knobs,
) -> anyhow::Result<Vec<RelaySummary>> {
    let mut summaries = Vec::new();
    let cases = knobs
        .relay_paces
        .iter()
        .flat_map(|&pace| knobs.relay_clients.iter().map(move |&c| (pace, c)));
    for (pace_ms, clients) in cases {
        let prompt = relay_prompt(knobs.relay_lines, pace_ms);
        println!(
            "\n== relay: {clients} client(s), prompt {prompt} ({}), {} turn(s)",
            pace_label(pace_ms),
            knobs.relay_runs
        );
        println!(
            "  {:>3} {:>7} {:>7} {:>10} {:>10} {:>10} {:>10} {:>10} {:>8}  max per tenth of the turn (ms)",
            "run",
            "events",
            "deltas",
            "events/s",
            "slowest/s",
            "added p50",
            "added p99",
            "added max",
            "turn"
        );
        let mut runs = Vec::new();
        for i in 1..=knobs.relay_runs {
            let run = relay_run(harness, session, clients, &prompt).await?;
            println!(
                "  {i:>3} {:>7} {:>7} {:>10.0} {:>10.0} {:>7.2} ms {:>7.2} ms {:>7.2} ms {:>5.0} ms  {}",
                run.events,
                run.text_deltas,
                run.events_per_s,
                run.events_per_s_min,
                run.added_p50,
                run.added_p99,
                run.added_max,
                run.turn_ms,
                run.tenths_max
                    .iter()
                    .map(|ms| format!("{ms:.0}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            runs.push(run);
        }
        let summary = RelaySummary {
            clients,
            pace_ms,
            events_per_s: median(&runs.iter().map(|r| r.events_per_s).collect::<Vec<_>>()),
            added_p50: median(&runs.iter().map(|r| r.added_p50).collect::<Vec<_>>()),
            added_p99: median(&runs.iter().map(|r| r.added_p99).collect::<Vec<_>>()),
            turn_ms: median(&runs.iter().map(|r| r.turn_ms).collect::<Vec<_>>()),
            events: runs.last().map_or(0, |r| r.events),
        };
        println!(
            "  median of {} turn(s): {:.0} events/s per client, added latency p50 {:.2} ms, p99 {:.2} ms, turn {:.0} ms",
            runs.len(),
            summary.events_per_s,
            summary.added_p50,
            summary.added_p99,
            summary.turn_ms
        );
        summaries.push(summary);
    }
    Ok(summaries)
}

fn pace_short(pace_ms: u64) -> String {
    if pace_ms == 0 {
        "burst".to_owned()
    } else {
        format!("{pace_ms} ms pace")
    }
}

fn pace_label(pace_ms: u64) -> String {
    if pace_ms == 0 {
        "burst: no pause between deltas".to_owned()
    } else {
        format!("paced: a delta every {pace_ms} ms")
    }
}

struct Latencies {
    sorted: Vec<f64>,
}

impl Latencies {
    fn new(values: Vec<f64>) -> Self {
        Self {
            sorted: sorted(values),
        }
    }
    fn p(&self, p: f64) -> f64 {
        percentile(&self.sorted, p)
    }
    fn max(&self) -> f64 {
        self.sorted.last().copied().unwrap_or(f64::NAN)
    }
}

async fn first_text_phase(
    harness: &Harness,
    session: Uuid,
    knobs: &Knobs,
) -> anyhow::Result<Latencies> {
    println!(
        "\n== message -> first text: {} turn(s) on the warm session, one connected client",
        knobs.first_text_runs
    );
    let mut feed = harness
        .feed(session, harness.last_seq(session).await?)
        .await?;
    println!(
        "  {:>3} {:>12} {:>14} {:>12} {:>10}",
        "run", "POST answer", "task_started", "first text", "turn"
    );
    let mut firsts = Vec::new();
    for i in 1..=knobs.first_text_runs {
        let started = Instant::now();
        let task = harness
            .queue(session, &format!("hello, this is message {i}"))
            .await?;
        let posted = started.elapsed();
        let until_text = feed
            .until(|e| e.kind() == "text_delta" && e.is_of(task))
            .await?;
        let first_text = until_text
            .last()
            .map(|e| e.instant.duration_since(started))
            .context("first text")?;
        let task_started = until_text
            .iter()
            .find(|e| e.kind() == "task_started" && e.is_of(task))
            .map(|e| ms(e.instant.duration_since(started)));
        let rest = feed.until(finished(task)).await?;
        let turn = rest
            .last()
            .map(|e| ms(e.instant.duration_since(started)))
            .unwrap_or(f64::NAN);
        println!(
            "  {i:>3} {:>9.1} ms {:>11} {:>9.1} ms {:>7.0} ms",
            ms(posted),
            task_started.map_or("-".to_owned(), |t| format!("{t:.1} ms")),
            ms(first_text),
            turn
        );
        firsts.push(ms(first_text));
    }
    let l = Latencies::new(firsts);
    println!(
        "  message -> first text_delta: p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        l.p(50.0),
        l.p(90.0),
        l.max()
    );
    Ok(l)
}

async fn approval_phase(
    harness: &Harness,
    session: Uuid,
    knobs: &Knobs,
) -> anyhow::Result<(Latencies, Latencies)> {
    println!(
        "\n== approval -> decision delivered: {} request(s), permission mode default",
        knobs.approval_runs
    );
    let mut feed = harness
        .feed(session, harness.last_seq(session).await?)
        .await?;
    println!(
        "  {:>3} {:>12} {:>17} {:>12}",
        "run", "POST answer", "approval_decided", "tool_result"
    );
    let (mut decided_ms, mut result_ms) = (Vec::new(), Vec::new());
    for i in 1..=knobs.approval_runs {
        let task = harness
            .queue(
                session,
                &format!("[[tool:Bash:echo approved-run > ok-{i}.txt; cat ok-{i}.txt]]"),
            )
            .await?;
        let asked = feed
            .until(|e| {
                (e.kind() == "permission_requested" && e.is_of(task))
                    || (e.kind() == "task_finished" && e.is_of(task))
            })
            .await?;
        let request = asked.last().context("permission request")?;
        if request.kind() != "permission_requested" {
            bail!("task {task} finished without asking for permission");
        }
        let approval = request.event["approval_id"]
            .as_str()
            .context("approval_id")?
            .to_owned();
        let started = Instant::now();
        let (status, body) = harness
            .call(
                reqwest::Method::POST,
                &format!("/api/v1/approvals/{approval}/decision"),
                Some(json!({"decision": "allow"})),
            )
            .await?;
        let posted = started.elapsed();
        if status != 200 {
            bail!("decide {approval}: {status} {body}");
        }
        let decided = feed
            .until(|e| {
                e.kind() == "approval_decided"
                    && e.event["approval_id"].as_str() == Some(approval.as_str())
            })
            .await?;
        let decided_at = decided.last().context("approval_decided")?.instant;
        let result = feed
            .until(|e| e.kind() == "tool_result" && e.is_of(task))
            .await?;
        let result = result.last().context("tool_result")?;
        if result.event["is_error"] != false || !result.event.to_string().contains("approved-run") {
            println!(
                "  warning: run {i}: the tool did not run as expected: {}",
                result.event
            );
        }
        let result_at = result.instant;
        feed.until(finished(task)).await?;
        let (d, r) = (
            ms(decided_at.duration_since(started)),
            ms(result_at.duration_since(started)),
        );
        println!(
            "  {i:>3} {:>9.1} ms {:>14.1} ms {:>9.1} ms",
            ms(posted),
            d,
            r
        );
        decided_ms.push(d);
        result_ms.push(r);
    }
    let (d, r) = (Latencies::new(decided_ms), Latencies::new(result_ms));
    println!(
        "  decision POST -> approval_decided event: p50 {:.1} ms, max {:.1} ms; -> tool_result: p50 {:.1} ms, max {:.1} ms",
        d.p(50.0),
        d.max(),
        r.p(50.0),
        r.max()
    );
    Ok((d, r))
}

async fn run(harness: &Harness, knobs: &Knobs) -> anyhow::Result<()> {
    let started = Instant::now();
    let session = harness.running_session("default").await?;
    println!(
        "\nsession {session} running after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // The CLI starts after the session is `running`; one unmeasured turn waits for it, so
    // every figure below is of a warm session.
    let warm = Instant::now();
    let mut feed = harness
        .feed(session, harness.last_seq(session).await?)
        .await?;
    let task = harness.queue(session, "warm-up turn").await?;
    feed.until(finished(task)).await?;
    drop(feed);
    println!(
        "warm-up turn finished after {:.1} s",
        warm.elapsed().as_secs_f64()
    );

    let relay = relay_phase(harness, session, knobs).await?;
    let first = first_text_phase(harness, session, knobs).await?;
    let (decided, result) = approval_phase(harness, session, knobs).await?;

    println!("\n== summary ({})", machine());
    let row = |figure: &str, measured: String, target: &str, verdict: &str| {
        println!("  {figure:<58} {measured:>22}   {target:<11} {verdict}");
    };
    row("figure", "measured".into(), "target", "verdict");
    for r in &relay {
        row(
            &format!(
                "relay {} client(s), {}: events/s per client",
                r.clients,
                pace_short(r.pace_ms)
            ),
            format!("{:.0} /s", r.events_per_s),
            "",
            "",
        );
        row(
            &format!(
                "relay {} client(s), {}: added latency p50",
                r.clients,
                pace_short(r.pace_ms)
            ),
            format!("{:.2} ms", r.added_p50),
            "",
            "",
        );
        row(
            &format!(
                "relay {} client(s), {}: added latency p99",
                r.clients,
                pace_short(r.pace_ms)
            ),
            format!("{:.2} ms", r.added_p99),
            &format!("<= {TARGET_P99_MS} ms"),
            verdict(r.added_p99, TARGET_P99_MS),
        );
        row(
            &format!(
                "relay {} client(s), {}: turn (POST -> last finished)",
                r.clients,
                pace_short(r.pace_ms)
            ),
            format!("{:.0} ms ({} events)", r.turn_ms, r.events),
            "",
            "",
        );
    }
    row(
        "message -> first text_delta, p50",
        format!("{:.1} ms", first.p(50.0)),
        &format!("<= {TARGET_FIRST_TEXT_MS} ms"),
        verdict(first.p(50.0), TARGET_FIRST_TEXT_MS),
    );
    row(
        "message -> first text_delta, p90 / max",
        format!("{:.1} / {:.1} ms", first.p(90.0), first.max()),
        "",
        "",
    );
    row(
        "decision POST -> approval_decided event, p50 / max",
        format!("{:.1} / {:.1} ms", decided.p(50.0), decided.max()),
        "",
        "",
    );
    row(
        "decision POST -> tool_result event, p50 / max",
        format!("{:.1} / {:.1} ms", result.p(50.0), result.max()),
        "",
        "",
    );
    println!(
        "  added latency = client receive time - event `at`; `at` is when session-manager had the\n  \
         event (decoded its CLI line, or made it). Display-only events are published before their\n  \
         batch commits, so for them it covers the Redis publish, the api's read and fan-out, the\n  \
         socket and this in-process client's scheduling; the others also wait for their\n  \
         batch's commit. Same machine, same clock."
    );

    for r in &relay {
        println!(
            "RESULT phase=relay clients={} pace_ms={} events={} events_per_s={:.0} added_p50_ms={:.2} added_p99_ms={:.2} turn_ms={:.0}",
            r.clients, r.pace_ms, r.events, r.events_per_s, r.added_p50, r.added_p99, r.turn_ms
        );
    }
    println!(
        "RESULT phase=first_text runs={} p50_ms={:.1} p90_ms={:.1} max_ms={:.1}",
        knobs.first_text_runs,
        first.p(50.0),
        first.p(90.0),
        first.max()
    );
    println!(
        "RESULT phase=approval runs={} decided_p50_ms={:.1} decided_max_ms={:.1} tool_result_p50_ms={:.1} tool_result_max_ms={:.1}",
        knobs.approval_runs,
        decided.p(50.0),
        decided.max(),
        result.p(50.0),
        result.max()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let knobs = Knobs::from_env()?;
    let mut telemetry = Settings::default().telemetry;
    telemetry.log_format = rc_config::LogFormat::Pretty;
    telemetry.otlp_endpoint = String::new();
    // Per-request and per-event log lines would cost CPU in the very paths being measured.
    telemetry.log_filter = "warn,rc_agent_protocol::client=error".into();
    let _telemetry = rc_telemetry::init(api::SERVICE, &telemetry)?;

    println!(
        "live session benchmark; {}; {}",
        machine(),
        Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    let mut harness = Harness::start().await;
    let result = match &mut harness {
        Ok(harness) => {
            println!(
                "node {}, database {}, exchange {}, image {IMAGE}",
                harness.node,
                harness.db.as_ref().map_or("", |d| d.name.as_str()),
                harness.settings.amqp.exchange
            );
            tokio::select! {
                r = async { harness.boot().await?; run(harness, &knobs).await } => r,
                () = interrupted() => Err(anyhow!("interrupted")),
            }
        }
        Err(err) => Err(anyhow!("start: {err:#}")),
    };
    println!();
    if let Ok(harness) = &mut harness {
        harness.cleanup().await;
    }
    println!("finished; {}", machine());
    result
}
