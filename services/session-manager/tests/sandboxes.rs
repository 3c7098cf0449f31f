//! session-manager end to end against the real Docker engine, the real sandbox image (with the
//! real Claude Code CLI and sandbox-agent), real Postgres, Redis and RabbitMQ, and the
//! scripted model server. Needs `scripts/build-sandbox-image.sh` to have run (CI does).

use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::Docker;
use futures::StreamExt;
use rc_bus::messages::{SessionCommand, TaskEvent};
use rc_bus::Bus;
use rc_config::Settings;
use serde_json::{json, Value};
use session_manager::Application;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const IMAGE: &str = "local/claude-sandbox:latest";
const MODEL: &str = "claude-sonnet-4-5";

struct Harness {
    /// Held for its drop, which removes the test database.
    _db: rc_testkit::TestDb,
    pool: PgPool,
    settings: Settings,
    bus: Arc<Bus>,
    docker: Docker,
    org_id: Uuid,
    user_id: Uuid,
    /// The "real" credential; it must never show up inside a sandbox.
    secret: String,
    fake_stop: Option<tokio::sync::oneshot::Sender<()>>,
    upstream: String,
    app: Option<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<anyhow::Result<()>>,
    )>,
    child: Option<tokio::process::Child>,
    /// Set by `finish`; a harness dropped without it belongs to a failed test.
    finished: bool,
}

impl Harness {
    async fn new(tweak: impl FnOnce(&mut Settings)) -> Self {
        rc_telemetry::init_for_test();
        let docker = Docker::connect_with_defaults().expect("docker client");
        docker.inspect_image(IMAGE).await.unwrap_or_else(|e| {
            panic!("sandbox image {IMAGE} missing ({e}); run scripts/build-sandbox-image.sh")
        });
        let db = rc_testkit::TestDb::new().await.expect("database");
        let fake = fake_anthropic::FakeAnthropic::bind(&fake_anthropic::Config {
            port: 0,
            ..Default::default()
        })
        .expect("fake model");
        let (fake_stop, fake_rx) = tokio::sync::oneshot::channel::<()>();
        let upstream = fake.base_url();
        let fake_url = upstream.clone();
        tokio::spawn(fake.run_until_stopped(async move {
            let _ = fake_rx.await;
        }));
        let secret = format!("sk-ant-REAL-{}", Uuid::new_v4().simple());
        let mut settings = Settings::default();
        settings.database = db.settings();
        settings.session_manager.port = 0;
        settings.session_manager.node_id =
            format!("t-{}", &Uuid::new_v4().simple().to_string()[..12]);
        settings.session_manager.start_timeout_secs = 60;
        settings.session_manager.stop_grace_secs = 2;
        settings.amqp.exchange = format!("rctest-{}", Uuid::new_v4().simple());
        settings.redis.key_prefix = format!("rctest-{}", Uuid::new_v4().simple());
        settings.model_proxy.upstream_url = upstream;
        settings.model_proxy.api_key = Some(rc_config::Secret::new(secret.clone()));
        tweak(&mut settings);
        let pool = sqlx::PgPool::connect(db.settings().url.expose())
            .await
            .expect("pool");
        let (org_id, user_id) = (Uuid::now_v7(), Uuid::now_v7());
        sqlx::query("INSERT INTO organizations (id, name, slug) VALUES ($1, 'Acme', $2)")
            .bind(org_id)
            .bind(format!("acme-{}", &org_id.simple().to_string()[20..]))
            .execute(&pool)
            .await
            .expect("org");
        sqlx::query("INSERT INTO users (id, email, email_verified) VALUES ($1, $2, true)")
            .bind(user_id)
            .bind(format!("dev-{}@example.com", user_id.simple()))
            .execute(&pool)
            .await
            .expect("user");
        sqlx::query("INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, 'owner')")
            .bind(org_id)
            .bind(user_id)
            .execute(&pool)
            .await
            .expect("membership");
        let bus = Arc::new(Bus::new(&settings.amqp));
        Self {
            _db: db,
            pool,
            settings,
            bus,
            docker,
            org_id,
            user_id,
            secret,
            fake_stop: Some(fake_stop),
            upstream: fake_url,
            app: None,
            child: None,
            finished: false,
        }
    }

    /// Starts session-manager as its own process (so the test can kill -9 it).
    fn spawn_process(&mut self) {
        let s = &self.settings;
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_session-manager"));
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("RC_")) {
            cmd.env_remove(key);
        }
        cmd.env("RC_DATABASE__URL", s.database.url.expose())
            .env("RC_DATABASE__MIGRATE_ON_START", "false")
            .env("RC_AMQP__EXCHANGE", &s.amqp.exchange)
            .env("RC_REDIS__KEY_PREFIX", &s.redis.key_prefix)
            .env("RC_SESSION_MANAGER__NODE_ID", &s.session_manager.node_id)
            .env("RC_SESSION_MANAGER__PORT", "0")
            .env("RC_MODEL_PROXY__UPSTREAM_URL", &s.model_proxy.upstream_url)
            .env("RC_MODEL_PROXY__API_KEY", self.secret.as_str())
            .env("RC_TELEMETRY__LOG_FORMAT", "pretty")
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true);
        self.child = Some(cmd.spawn().expect("spawn session-manager"));
    }

    async fn start_app(&mut self) {
        let app = Application::build(self.settings.clone())
            .await
            .expect("session-manager builds");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        self.app = Some((tx, handle));
    }

    async fn stop_app(&mut self) {
        if let Some((tx, handle)) = self.app.take() {
            let _ = tx.send(());
            handle.await.expect("join").expect("clean stop");
        }
    }

    /// The domain layer, exactly as the api's REST and GraphQL handlers call it.
    fn domain(&self) -> rc_domain::Domain {
        rc_domain::Domain::new(
            self.pool.clone(),
            self.bus.clone(),
            Arc::new(self.settings.clone()),
        )
        .expect("domain")
    }

    fn granted<P: rc_auth::Permission>(&self) -> rc_auth::Granted<P> {
        rc_auth::authorize::<P>(rc_auth::Actor {
            user_id: self.user_id,
            email: "owner@example.com".into(),
            org_id: self.org_id,
            role: rc_auth::Role::Owner,
            credential: rc_auth::Credential::LoginSession,
            meta: rc_auth::RequestMeta::default(),
        })
        .expect("owner may")
    }

    /// The model requests the scripted server received.
    async fn model_requests(&self) -> Vec<Value> {
        reqwest::get(format!("{}/_fake/requests", self.upstream))
            .await
            .expect("fake log")
            .json::<Value>()
            .await
            .expect("json")
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn node(&self) -> String {
        self.settings.session_manager.node_id.clone()
    }

    async fn create_session(&self, limits: Value, permission_mode: &str) -> Uuid {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO sessions (id, org_id, owner_id, name, image, limits, network_policy, model, permission_mode)
             VALUES ($1, $2, $3, 'test', $4, $5, 'none', $6, $7)",
        )
        .bind(id)
        .bind(self.org_id)
        .bind(self.user_id)
        .bind(IMAGE)
        .bind(limits)
        .bind(MODEL)
        .bind(permission_mode)
        .execute(&self.pool)
        .await
        .expect("session row");
        self.bus
            .publish(&SessionCommand::Create {
                session_id: id,
                org_id: self.org_id,
            })
            .await
            .expect("publish create");
        id
    }

    async fn queue_task(&self, session_id: Uuid, prompt: &str) -> Uuid {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO tasks (id, org_id, session_id, created_by, prompt, position)
             VALUES ($1, $2, $3, $4, $5, (SELECT COALESCE(max(position), 0) + 1 FROM tasks WHERE session_id = $3))",
        )
        .bind(id)
        .bind(self.org_id)
        .bind(session_id)
        .bind(self.user_id)
        .bind(prompt)
        .execute(&self.pool)
        .await
        .expect("task row");
        self.bus
            .publish(&TaskEvent::Queued {
                task_id: id,
                session_id,
                org_id: self.org_id,
                node_id: Some(self.node()),
            })
            .await
            .expect("publish queued");
        id
    }

    async fn session_state(&self, id: Uuid) -> (String, Option<String>) {
        sqlx::query_as("SELECT state::text, state_reason FROM sessions WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .expect("session")
    }

    /// Polls (bounded) until the session reaches `state`; panics with the last state.
    async fn wait_state(&self, id: Uuid, state: &str, bound: Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + bound;
        loop {
            let (now, reason) = self.session_state(id).await;
            if now == state {
                return reason;
            }
            assert!(
                !matches!(now.as_str(), "stopped" | "failed"),
                "session {id} ended {now} ({reason:?}) while waiting for {state}"
            );
            assert!(
                tokio::time::Instant::now() < deadline,
                "session {id} is {now} ({reason:?}), not {state}, after {bound:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn wait_task(
        &self,
        id: Uuid,
        bound: Duration,
    ) -> (String, Option<Value>, Option<String>) {
        let deadline = tokio::time::Instant::now() + bound;
        loop {
            let row: (String, Option<Value>, Option<String>) =
                sqlx::query_as("SELECT state::text, result, error FROM tasks WHERE id = $1")
                    .bind(id)
                    .fetch_one(&self.pool)
                    .await
                    .expect("task");
            if !matches!(row.0.as_str(), "queued" | "running") {
                return row;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "task {id} still {} after {bound:?}",
                row.0
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Publishes a stop of the session to this harness's node, as the api does.
    async fn stop_session(&self, session: Uuid, reason: &str) {
        self.bus
            .publish(&SessionCommand::Stop {
                session_id: session,
                org_id: self.org_id,
                reason: reason.into(),
                node_id: Some(self.node()),
            })
            .await
            .expect("publish stop");
    }

    /// The session's event sequence numbers, checked to be 1, 2, 3, … without a hole.
    async fn gap_free_seqs(&self, session: Uuid) -> Vec<i64> {
        let seqs: Vec<i64> =
            sqlx::query_scalar("SELECT seq FROM session_events WHERE session_id = $1 ORDER BY seq")
                .bind(session)
                .fetch_all(&self.pool)
                .await
                .expect("events");
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
        seqs
    }

    async fn sandbox_name(&self, id: Uuid) -> String {
        sqlx::query_scalar("SELECT sandbox_name FROM sessions WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .expect("sandbox name")
    }

    /// Runs a command in the sandbox as uid 1000 and returns its stdout.
    async fn exec(&self, container: &str, cmd: &[&str]) -> String {
        let exec = self
            .docker
            .create_exec(
                container,
                CreateExecOptions {
                    cmd: Some(cmd.to_vec()),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    ..Default::default()
                },
            )
            .await
            .expect("create exec");
        let StartExecResults::Attached { mut output, .. } = self
            .docker
            .start_exec(&exec.id, None)
            .await
            .expect("start exec")
        else {
            panic!("detached exec")
        };
        let mut out = String::new();
        while let Some(chunk) = output.next().await {
            if let Ok(bollard::container::LogOutput::StdOut { message }) = chunk {
                out.push_str(&String::from_utf8_lossy(&message));
            }
        }
        out
    }

    async fn volume_exists(&self, name: &str) -> bool {
        self.docker.inspect_volume(name).await.is_ok()
    }

    async fn container_exists(&self, name: &str) -> bool {
        self.docker.inspect_container(name, None).await.is_ok()
    }

    async fn finish(mut self) {
        self.stop_app().await;
        // Leave nothing behind, whatever the test did.
        let node = self.node();
        if let Ok(engine) = session_manager::sandbox::Engine::connect("").await {
            if let Ok(list) = engine.list_managed(&node).await {
                for c in list {
                    let _ = engine.remove_sandbox(&c.name, true).await;
                }
            }
        }
        remove_volumes_of(&self.docker, &node).await;
        if let Ok(channel) = self.bus.consumer_channel().await {
            let _ = self.bus.topology().delete_node_queue(&channel, &node).await;
        }
        rc_testkit::service::delete_bus_topology(&self.settings.amqp).await;
        if let Some(stop) = self.fake_stop.take() {
            let _ = stop.send(());
        }
        self.finished = true;
    }
}

impl Drop for Harness {
    /// A test that failed never reached `finish`: its sandboxes would outlive the run (the
    /// engine does), so at least they go, through the docker CLI (no runtime to await on here).
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let label = format!("label=remote-claude.node={}", self.node());
        let listed = |args: &[&str]| -> Vec<String> {
            std::process::Command::new("docker")
                .args(args)
                .args(["--filter", &label])
                .output()
                .map(|out| {
                    String::from_utf8_lossy(&out.stdout)
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let remove = |args: &[&str], ids: Vec<String>| {
            if !ids.is_empty() {
                let _ = std::process::Command::new("docker")
                    .args(args)
                    .args(&ids)
                    .output();
            }
        };
        remove(&["rm", "-f", "-v"], listed(&["ps", "-aq"]));
        remove(&["volume", "rm", "-f"], listed(&["volume", "ls", "-q"]));
    }
}

/// Volumes outlive their containers on purpose (stop keeps the workspace); a test's are
/// removed by their node label.
async fn remove_volumes_of(docker: &Docker, node: &str) {
    let filters = std::collections::HashMap::from([(
        "label".to_owned(),
        vec![format!("remote-claude.node={node}")],
    )]);
    let options = bollard::query_parameters::ListVolumesOptionsBuilder::default()
        .filters(&filters)
        .build();
    if let Ok(list) = docker.list_volumes(Some(options)).await {
        for volume in list.volumes.unwrap_or_default() {
            let _ = docker
                .remove_volume(
                    &volume.name,
                    None::<bollard::query_parameters::RemoveVolumeOptions>,
                )
                .await;
        }
    }
}

fn limits(idle_timeout_secs: i64) -> Value {
    json!({"cpu_millis": 1000, "memory_mb": 1024, "pids": 256, "idle_timeout_secs": idle_timeout_secs, "max_duration_secs": 3600})
}

#[tokio::test]
async fn a_session_runs_a_turn_in_a_hardened_sandbox_and_stop_and_delete_clean_up() {
    let mut h = Harness::new(|s| s.session_manager.stats_interval_secs = 1).await;
    h.start_app().await;
    let session = h.create_session(limits(3600), "default").await;
    h.wait_state(session, "running", Duration::from_secs(90))
        .await;
    let sandbox = h.sandbox_name(session).await;

    // The container as the engine reports it.
    let inspect = h
        .docker
        .inspect_container(&sandbox, None)
        .await
        .expect("inspect");
    let host = inspect.host_config.expect("host config");
    let config = inspect.config.expect("config");
    assert_eq!(host.cap_drop, Some(vec!["ALL".to_owned()]));
    assert!(
        host.cap_add.unwrap_or_default().is_empty(),
        "no capability added"
    );
    assert_eq!(host.readonly_rootfs, Some(true));
    assert_eq!(host.network_mode.as_deref(), Some("none"));
    assert_eq!(
        host.security_opt,
        Some(vec!["no-new-privileges".to_owned()])
    );
    assert_eq!(config.user.as_deref(), Some("1000:1000"));
    assert_eq!(host.memory, Some(1024 * 1024 * 1024));
    assert_eq!(host.pids_limit, Some(256));
    assert_eq!(host.nano_cpus, Some(1_000_000_000));
    let mounts = inspect.mounts.unwrap_or_default();
    assert!(
        mounts.iter().all(
            |m| !m.source.as_deref().unwrap_or("").contains("docker.sock")
                && !m
                    .destination
                    .as_deref()
                    .unwrap_or("")
                    .contains("docker.sock")
        ),
        "no Docker socket: {mounts:?}"
    );
    // From inside: uid 1000, no capabilities, only loopback, no real credential anywhere.
    assert_eq!(h.exec(&sandbox, &["id", "-u"]).await.trim(), "1000");
    let caps = h
        .exec(
            &sandbox,
            &["sh", "-c", "grep -E '^Cap(Eff|Prm|Bnd)' /proc/self/status"],
        )
        .await;
    assert!(
        caps.lines().all(|l| l.ends_with("0000000000000000")),
        "{caps}"
    );
    assert_eq!(
        h.exec(&sandbox, &["ls", "/sys/class/net"])
            .await
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["lo"]
    );

    // A turn through the real CLI, with its model traffic tunnelled to the proxy.
    let task = h.queue_task(session, "hello [[text]]").await;
    let (state, result, error) = h.wait_task(task, Duration::from_secs(90)).await;
    assert_eq!(state, "succeeded", "error: {error:?}, result: {result:?}");
    let result = result.expect("result stored");
    assert!(
        result["text"].as_str().is_some_and(|t| !t.is_empty()),
        "{result}"
    );
    assert_eq!(result["is_error"], false);
    let (calls, input_tokens): (i64, Option<i64>) = sqlx::query_as(
        "SELECT count(*), sum(input_tokens)::bigint FROM usage_records WHERE session_id = $1 AND task_id = $2 AND user_id = $3",
    )
    .bind(session)
    .bind(task)
    .bind(h.user_id)
    .fetch_one(&h.pool)
    .await
    .expect("usage");
    assert!(
        calls >= 1,
        "a usage row per model call, attributed to the task"
    );
    assert!(input_tokens.unwrap_or(0) > 0);
    let seqs: Vec<i64> =
        sqlx::query_scalar("SELECT seq FROM session_events WHERE session_id = $1 ORDER BY seq")
            .bind(session)
            .fetch_all(&h.pool)
            .await
            .expect("events");
    assert_eq!(
        seqs,
        (1..=seqs.len() as i64).collect::<Vec<_>>(),
        "contiguous sequence numbers"
    );
    let kinds: Vec<String> = sqlx::query_scalar(
        "SELECT kind FROM session_events WHERE session_id = $1 AND task_id = $2 ORDER BY seq",
    )
    .bind(session)
    .bind(task)
    .fetch_all(&h.pool)
    .await
    .expect("kinds");
    for kind in [
        "task_started",
        "turn_started",
        "text_delta",
        "assistant_block",
        "turn_completed",
        "task_finished",
    ] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "{kind} missing from {kinds:?}"
        );
    }

    // The credential the proxy injected is nowhere in the sandbox: environment of every
    // process, files the CLI wrote, /tmp, the workspace.
    // The pattern brackets one character, so grep's own command line does not match it.
    let (head, tail) = h.secret.split_at(12);
    let (first, rest) = tail.split_at(1);
    let grep = format!(
        "grep -rl -- '{head}[{first}]{rest}' /proc/[0-9]*/environ /proc/[0-9]*/cmdline /home/agent /workspace /tmp /etc 2>/dev/null; echo done"
    );
    assert_eq!(
        h.exec(&sandbox, &["sh", "-c", &grep]).await.trim(),
        "done",
        "the real key leaked into the sandbox"
    );

    // Container stats are sampled onto the row.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let stats: Option<Value> = sqlx::query_scalar("SELECT stats FROM sessions WHERE id = $1")
            .bind(session)
            .fetch_one(&h.pool)
            .await
            .expect("stats");
        if let Some(stats) = stats {
            assert!(stats["memory_bytes"].as_u64().unwrap_or(0) > 0, "{stats}");
            assert_eq!(stats["memory_limit_bytes"], 1024 * 1024 * 1024, "{stats}");
            assert!(
                stats["pids"].as_u64().unwrap_or(0) >= 2,
                "agent and Claude at least: {stats}"
            );
            let published: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM session_events WHERE session_id = $1 AND kind = 'container_stats'",
            )
            .bind(session)
            .fetch_one(&h.pool)
            .await
            .expect("stats events");
            if published > 0 {
                break;
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "no stats sample");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Stop removes the container and keeps the volumes (the conversation can resume)…
    h.stop_session(session, "stopped by test").await;
    let reason = h
        .wait_state(session, "stopped", Duration::from_secs(30))
        .await;
    assert_eq!(reason.as_deref(), Some("stopped by test"));
    assert!(
        !h.container_exists(&sandbox).await,
        "container removed on stop"
    );
    assert!(
        h.volume_exists(&format!("{sandbox}-ws")).await,
        "workspace kept on stop"
    );
    // …and delete removes the volumes too.
    sqlx::query("UPDATE sessions SET deleted_at = now() WHERE id = $1")
        .bind(session)
        .execute(&h.pool)
        .await
        .expect("soft delete");
    h.bus
        .publish(&SessionCommand::Delete {
            session_id: session,
            org_id: h.org_id,
            node_id: Some(h.node()),
        })
        .await
        .expect("publish delete");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while h.volume_exists(&format!("{sandbox}-ws")).await
        || h.volume_exists(&format!("{sandbox}-home")).await
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "volumes still there after delete"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    h.finish().await;
}

#[tokio::test]
async fn the_idle_reaper_stops_an_idle_session_with_a_reason() {
    let mut h = Harness::new(|s| s.session_manager.reap_interval_secs = 1).await;
    h.start_app().await;
    let session = h.create_session(limits(2), "default").await;
    h.wait_state(session, "running", Duration::from_secs(90))
        .await;
    let sandbox = h.sandbox_name(session).await;
    let reason = h
        .wait_state(session, "stopped", Duration::from_secs(30))
        .await;
    assert_eq!(reason.as_deref(), Some("idle for more than 2s"));
    assert!(!h.container_exists(&sandbox).await);
    h.finish().await;
}

#[tokio::test]
async fn with_the_engine_down_a_session_fails_with_the_reason_and_nothing_is_left() {
    let mut h =
        Harness::new(|s| s.session_manager.docker_host = "unix:///nonexistent/docker.sock".into())
            .await;
    h.start_app().await;
    let session = h.create_session(limits(600), "default").await;
    let reason = h
        .wait_state(session, "failed", Duration::from_secs(30))
        .await
        .expect("reason");
    assert!(reason.contains("Docker engine unavailable"), "{reason}");
    let sandbox: Option<String> =
        sqlx::query_scalar("SELECT sandbox_name FROM sessions WHERE id = $1")
            .bind(session)
            .fetch_one(&h.pool)
            .await
            .expect("row");
    if let Some(name) = sandbox {
        assert!(!h.container_exists(&name).await, "nothing half-made");
    }
    h.finish().await;
}

#[tokio::test]
async fn a_turn_survives_kill_9_of_session_manager_mid_stream_with_contiguous_events() {
    let mut h = Harness::new(|_| {}).await;
    h.spawn_process();
    let session = h.create_session(limits(3600), "default").await;
    h.wait_state(session, "running", Duration::from_secs(90))
        .await;
    let task = h.queue_task(session, "stream slowly [[slow:40:50]]").await;
    // Wait until the turn is streaming, then take session-manager away mid-stream.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let deltas: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM session_events WHERE session_id = $1 AND kind = 'text_delta'",
        )
        .bind(session)
        .fetch_one(&h.pool)
        .await
        .expect("count");
        if deltas >= 5 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the turn never started streaming"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut child = h.child.take().expect("process");
    child.start_kill().expect("kill -9");
    child.wait().await.expect("reaped");
    let state: String = sqlx::query_scalar("SELECT state::text FROM tasks WHERE id = $1")
        .bind(task)
        .fetch_one(&h.pool)
        .await
        .expect("task");
    assert_eq!(
        state, "running",
        "the turn is still going while session-manager is away"
    );
    h.start_app().await;
    let (state, result, error) = h.wait_task(task, Duration::from_secs(90)).await;
    assert_eq!(state, "succeeded", "{error:?} {result:?}");
    h.gap_free_seqs(session).await;
    // Nothing doubled: exactly one result and one init for the one turn.
    let results: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM session_events WHERE session_id = $1 AND kind = 'turn_completed'",
    )
    .bind(session)
    .fetch_one(&h.pool)
    .await
    .expect("results");
    assert_eq!(results, 1);
    // The model stream itself broke with the kill (the proxy lived in the killed process) and
    // the CLI retried the call: the stored deltas end with the retry's complete text.
    let deltas: Vec<String> = sqlx::query_scalar(
        "SELECT payload->>'text' FROM session_events WHERE session_id = $1 AND kind = 'text_delta' ORDER BY seq",
    )
    .bind(session)
    .fetch_all(&h.pool)
    .await
    .expect("deltas");
    let final_text = result
        .as_ref()
        .and_then(|r| r["text"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(!final_text.is_empty());
    assert!(deltas.concat().ends_with(&final_text), "{deltas:?}");
    // Line level: every CLI output line was stored exactly once, in order — the agent
    // sequence numbers of the stored events never go back and have no holes.
    let agent_seqs: Vec<i64> = sqlx::query_scalar(
        "SELECT agent_seq FROM session_events WHERE session_id = $1 AND agent_seq IS NOT NULL ORDER BY seq",
    )
    .bind(session)
    .fetch_all(&h.pool)
    .await
    .expect("agent seqs");
    assert!(
        agent_seqs
            .windows(2)
            .all(|w| w[1] == w[0] || w[1] == w[0] + 1),
        "{agent_seqs:?}"
    );
    assert_eq!(agent_seqs.first(), Some(&1));
    h.finish().await;
}

/// A text delta as session-manager publishes it before its batch commits.
fn early_delta(seq: i64, text: &str) -> rc_events::SessionEvent {
    rc_events::SessionEvent::new(
        seq,
        None,
        chrono::Utc::now(),
        rc_events::EventBody::TextDelta {
            message_id: Some("msg_early".into()),
            index: 0,
            text: text.to_owned(),
            parent_tool_use_id: None,
        },
    )
}

/// The session's stored events after `after` as (seq, kind, text or state), polled until
/// `done` holds (or the bound passes: the caller's assertions then say what is missing).
async fn stored_after(
    h: &Harness,
    session: Uuid,
    after: i64,
    done: impl Fn(&[(i64, String, Option<String>)]) -> bool,
) -> Vec<(i64, String, Option<String>)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let rows: Vec<(i64, String, Option<String>)> = sqlx::query_as(
            "SELECT seq, kind, coalesce(payload->>'text', payload->>'state') FROM session_events
             WHERE session_id = $1 AND seq > $2 ORDER BY seq",
        )
        .bind(session)
        .bind(after)
        .fetch_all(&h.pool)
        .await
        .expect("events");
        if done(&rows) || tokio::time::Instant::now() >= deadline {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn events_published_early_that_never_committed_are_stored_as_watchers_saw_them() {
    let mut h = Harness::new(|_| {}).await;
    h.start_app().await;
    let session = h.create_session(limits(3600), "default").await;
    h.wait_state(session, "running", Duration::from_secs(90))
        .await;
    // Leave the sandbox running (graceful stop), then act as an actor that died right after
    // publishing two display-only events early: watchers saw them, Postgres never got them.
    h.stop_app().await;
    let last: i64 = sqlx::query_scalar(
        "SELECT coalesce(max(seq), 0) FROM session_events WHERE session_id = $1",
    )
    .bind(session)
    .fetch_one(&h.pool)
    .await
    .expect("last seq");
    let redis = rc_runtime::checks::redis_pool(h.settings.redis.url.expose(), 1).expect("redis");
    let mut conn = redis.get().await.expect("redis connection");
    let key = rc_domain::live::stream_key(&h.settings.redis.key_prefix, session);
    let seen = [
        early_delta(last + 1, "seen early 1"),
        early_delta(last + 2, "seen early 2"),
    ];
    rc_domain::live::publish(&mut conn, &key, &seen)
        .await
        .expect("publish");

    h.start_app().await;
    // The new actor owes those numbers: nothing else takes them, and once the agent's
    // replay is through they are stored as the stream has them.
    let stored = stored_after(&h, session, last, |rows| rows.len() >= 2).await;
    let text = |t: &str| Some(t.to_owned());
    assert_eq!(
        stored.get(..2),
        Some(
            &[
                (last + 1, "text_delta".to_owned(), text("seen early 1")),
                (last + 2, "text_delta".to_owned(), text("seen early 2")),
            ][..]
        ),
        "{stored:?}"
    );
    // Numbering goes on after them, without a hole.
    let task = h.queue_task(session, "hello after a restart").await;
    let (state, _, error) = h.wait_task(task, Duration::from_secs(90)).await;
    assert_eq!(state, "succeeded", "{error:?}");
    let seqs = h.gap_free_seqs(session).await;
    assert!(seqs.len() as i64 > last + 2, "the turn's events came after");

    // Once more, and this time the session is stopped right away: the owed event is stored
    // and the final state change comes after it.
    h.stop_app().await;
    let last = *seqs.last().expect("events");
    rc_domain::live::publish(
        &mut conn,
        &key,
        &[early_delta(last + 1, "seen early before the stop")],
    )
    .await
    .expect("publish");
    h.start_app().await;
    h.stop_session(session, "stopped by test").await;
    // The row says "stopped" just before the final event is written.
    let tail = stored_after(&h, session, last, |rows| {
        rows.iter()
            .any(|(_, kind, _)| kind == "session_state_changed")
    })
    .await;
    assert_eq!(
        tail.first(),
        Some(&(
            last + 1,
            "text_delta".to_owned(),
            text("seen early before the stop")
        )),
        "{tail:?}"
    );
    assert_eq!(
        tail.last()
            .map(|(_, kind, state)| (kind.as_str(), state.as_deref())),
        Some(("session_state_changed", Some("stopped"))),
        "{tail:?}"
    );
    let seqs: Vec<i64> = tail.iter().map(|(seq, _, _)| *seq).collect();
    assert_eq!(
        seqs,
        (last + 1..=last + tail.len() as i64).collect::<Vec<_>>()
    );
    h.finish().await;
}

#[tokio::test]
async fn a_batch_whose_commit_fails_is_replayed_into_the_events_watchers_saw_early() {
    let mut h = Harness::new(|_| {}).await;
    // The first three INSERTs of the tenth delta fail (a sequence, unlike a table, keeps
    // counting through the rollback); with the actor's back-off that holds the batch out of
    // Postgres for over a second, while its events were already published early.
    sqlx::raw_sql(
        r#"CREATE SEQUENCE injected_failures;
           CREATE FUNCTION fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             -- Nested: AND does not promise to skip nextval for the other rows.
             IF NEW.payload->>'text' LIKE 'Slow chunk 10 of 20 %' THEN
               IF nextval('injected_failures') <= 3 THEN
                 RAISE EXCEPTION 'injected failure';
               END IF;
             END IF;
             RETURN NEW;
           END $$;
           CREATE TRIGGER fail_once BEFORE INSERT ON session_events
             FOR EACH ROW EXECUTE FUNCTION fail_once();"#,
    )
    .execute(&h.pool)
    .await
    .expect("install the fault");
    h.start_app().await;
    let session = h.create_session(limits(3600), "default").await;
    h.wait_state(session, "running", Duration::from_secs(90))
        .await;
    let task = h.queue_task(session, "stream [[slow:20:20]]").await;
    let redis = rc_runtime::checks::redis_pool(h.settings.redis.url.expose(), 1).expect("redis");
    let mut conn = redis.get().await.expect("redis connection");
    let key = rc_domain::live::stream_key(&h.settings.redis.key_prefix, session);
    // Watchers get the tenth delta while its batch still fails to commit.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let streamed = rc_domain::live::read_range(&mut conn, &key, 0, 100_000)
            .await
            .expect("stream");
        if streamed
            .iter()
            .any(|e| e.json.contains("Slow chunk 10 of 20 "))
        {
            let stored: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM session_events WHERE session_id = $1 AND payload->>'text' LIKE 'Slow chunk 10 of 20 %'",
            )
            .bind(session)
            .fetch_one(&h.pool)
            .await
            .expect("count");
            assert_eq!(stored, 0, "streamed before its commit");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the tenth delta never reached the stream"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (state, _, error) = h.wait_task(task, Duration::from_secs(90)).await;
    assert_eq!(state, "succeeded", "{error:?}");
    let failures: i64 = sqlx::query_scalar("SELECT last_value FROM injected_failures")
        .fetch_one(&h.pool)
        .await
        .expect("sequence");
    assert_eq!(
        failures, 4,
        "three failed attempts, then the one that committed"
    );
    let seqs = h.gap_free_seqs(session).await;

    // Everything the stream carried (early or not) is what Postgres stored, but for `at`.
    // The last events go out just after their commit: wait for the stream to catch up.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let streamed = loop {
        let streamed = rc_domain::live::read_range(&mut conn, &key, 0, 100_000)
            .await
            .expect("stream");
        if streamed.last().map(|e| e.event.seq) == seqs.last().copied()
            || tokio::time::Instant::now() >= deadline
        {
            break streamed;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut deltas = 0i64;
    for shared in &streamed {
        let (kind, payload): (String, serde_json::Value) = sqlx::query_as(
            "SELECT kind, payload FROM session_events WHERE session_id = $1 AND seq = $2",
        )
        .bind(session)
        .bind(shared.event.seq)
        .fetch_one(&h.pool)
        .await
        .unwrap_or_else(|e| panic!("seq {} was streamed, not stored: {e}", shared.event.seq));
        assert_eq!(kind, shared.event.body.kind(), "seq {}", shared.event.seq);
        assert_eq!(
            payload,
            shared.event.body.to_payload().expect("payload"),
            "seq {}",
            shared.event.seq
        );
        deltas += i64::from(kind == "text_delta");
    }
    assert_eq!(deltas, 20, "every delta was streamed and stored once");
    // The batch was written again in place: the agent's channel, and the model call tunnelled
    // through it, stayed up (re-attaching would have made the CLI retry the call).
    let retries: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM session_events WHERE session_id = $1 AND kind = 'api_retry'",
    )
    .bind(session)
    .fetch_one(&h.pool)
    .await
    .expect("count");
    assert_eq!(retries, 0, "the model call was not retried");
    assert_eq!(
        streamed.last().map(|e| e.event.seq),
        seqs.last().copied(),
        "the stream reached the end of the log"
    );
    h.finish().await;
}

#[tokio::test]
async fn a_stopped_session_starts_again_and_resumes_its_conversation() {
    use rc_auth::perm;
    let mut h = Harness::new(|_| {}).await;
    h.start_app().await;
    let domain = h.domain();
    let session = rc_domain::sessions::create(
        &domain,
        &h.granted::<perm::SessionsWrite>(),
        serde_json::from_value(json!({"name": "resume me"})).expect("input"),
    )
    .await
    .expect("create through the domain layer");
    h.wait_state(session.id, "running", Duration::from_secs(90))
        .await;
    let first = rc_domain::tasks::create(
        &domain,
        &h.granted::<perm::TasksWrite>(),
        session.id,
        rc_domain::tasks::CreateTask {
            prompt: "remember the word PELICAN [[text]]".into(),
            images: Vec::new(),
        },
    )
    .await
    .expect("task");
    let (state, _, error) = h.wait_task(first.id, Duration::from_secs(90)).await;
    assert_eq!(state, "succeeded", "{error:?}");
    let sandbox = h.sandbox_name(session.id).await;
    h.exec(&sandbox, &["sh", "-c", "echo kept > /workspace/notes.txt"])
        .await;

    rc_domain::sessions::stop(&domain, &h.granted::<perm::SessionsWrite>(), session.id)
        .await
        .expect("stop");
    h.wait_state(session.id, "stopped", Duration::from_secs(30))
        .await;
    assert!(!h.container_exists(&sandbox).await);
    rc_domain::sessions::start(&domain, &h.granted::<perm::SessionsWrite>(), session.id)
        .await
        .expect("start");
    h.wait_state(session.id, "running", Duration::from_secs(90))
        .await;
    assert_eq!(
        h.sandbox_name(session.id).await,
        sandbox,
        "same sandbox name, same volumes"
    );
    assert_eq!(
        h.exec(&sandbox, &["cat", "/workspace/notes.txt"])
            .await
            .trim(),
        "kept",
        "workspace survived"
    );

    let second = rc_domain::tasks::create(
        &domain,
        &h.granted::<perm::TasksWrite>(),
        session.id,
        rc_domain::tasks::CreateTask {
            prompt: "what was the word? [[text]]".into(),
            images: Vec::new(),
        },
    )
    .await
    .expect("task");
    let (state, _, error) = h.wait_task(second.id, Duration::from_secs(90)).await;
    assert_eq!(state, "succeeded", "{error:?}");
    // The resumed Claude sent the earlier turn as history: the conversation continued.
    let requests = h.model_requests().await;
    let last = requests
        .iter()
        .rev()
        .find(|r| {
            r["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("/v1/messages"))
                && r["body"]["messages"]
                    .to_string()
                    .contains("what was the word")
        })
        .expect("the second turn's model request");
    assert!(
        last["body"]["messages"].to_string().contains("PELICAN"),
        "history missing: {}",
        last["body"]["messages"]
    );
    // Nothing of this reached the model with the sandbox's dummy key.
    assert!(requests.iter().all(|r| r["headers"]["x-api-key"]
        .as_str()
        .is_none_or(|k| !k.contains("rc-sandbox"))));
    h.finish().await;
}

#[tokio::test]
async fn a_warm_pool_sandbox_is_claimed_with_the_sessions_limits_and_refilled() {
    let mut h = Harness::new(|s| s.session_manager.warm_pool_size = 1).await;
    h.start_app().await;
    let pooled = |docker: Docker, node: String| async move {
        let filters = std::collections::HashMap::from([(
            "label".to_owned(),
            vec![
                "remote-claude.pool=true".to_owned(),
                format!("remote-claude.node={node}"),
            ],
        )]);
        let options = bollard::query_parameters::ListContainersOptionsBuilder::default()
            .filters(&filters)
            .build();
        docker
            .list_containers(Some(options))
            .await
            .expect("list")
            .into_iter()
            .filter_map(|c| c.names.and_then(|n| n.into_iter().next()))
            .map(|n| n.trim_start_matches('/').to_owned())
            .collect::<Vec<_>>()
    };
    let wait_pool = |want: usize| {
        let (docker, node) = (h.docker.clone(), h.node());
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            loop {
                let names = pooled(docker.clone(), node.clone()).await;
                if names.len() == want {
                    return names;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "pool has {names:?}, want {want}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let ready = wait_pool(1).await;
    let session = h
        .create_session(
            json!({"cpu_millis": 500, "memory_mb": 768, "pids": 128, "idle_timeout_secs": 600, "max_duration_secs": 3600}),
            "default",
        )
        .await;
    h.wait_state(session, "running", Duration::from_secs(60))
        .await;
    let sandbox = h.sandbox_name(session).await;
    assert_eq!(sandbox, ready[0], "the session got the pre-started sandbox");
    let host = h
        .docker
        .inspect_container(&sandbox, None)
        .await
        .expect("inspect")
        .host_config
        .expect("host");
    assert_eq!(
        host.memory,
        Some(768 * 1024 * 1024),
        "the session's limits replaced the pool's"
    );
    assert_eq!(host.nano_cpus, Some(500_000_000));
    assert_eq!(host.pids_limit, Some(128));
    // The pool refills with a new sandbox.
    let refilled = wait_pool(2).await;
    assert!(refilled.iter().any(|n| n != &sandbox), "{refilled:?}");
    // A turn works in the claimed sandbox, with the org settings written at claim time.
    let task = h.queue_task(session, "hi [[text]]").await;
    let (state, _, error) = h.wait_task(task, Duration::from_secs(60)).await;
    assert_eq!(state, "succeeded", "{error:?}");
    let settings = h
        .exec(
            &sandbox,
            &[
                "cat",
                "/etc/claude-code/managed-settings.d/50-organization.json",
            ],
        )
        .await;
    assert!(settings.contains("permissions"), "{settings}");
    // A restart keeps the claimed sandbox (it still carries the pool label) and its session.
    h.stop_app().await;
    h.start_app().await;
    let task = h.queue_task(session, "again [[text]]").await;
    let (state, _, error) = h.wait_task(task, Duration::from_secs(60)).await;
    assert_eq!(state, "succeeded", "{error:?}");
    assert_eq!(h.session_state(session).await.0, "running");
    assert!(h.container_exists(&sandbox).await);
    h.finish().await;
}

#[tokio::test]
async fn two_nodes_each_own_their_sessions_and_commands_reach_the_owner() {
    let mut a = Harness::new(|_| {}).await;
    let mut settings_b = a.settings.clone();
    settings_b.session_manager.node_id = format!("{}-b", a.node());
    let node_b = settings_b.session_manager.node_id.clone();
    let start_b = || {
        let settings = settings_b.clone();
        async move {
            let app = Application::build(settings).await.expect("node b builds");
            let (stop, rx) = tokio::sync::oneshot::channel::<()>();
            let task = tokio::spawn(app.run_until_stopped(async move {
                let _ = rx.await;
            }));
            (stop, task)
        }
    };
    let pool = a.pool.clone();
    let owner = |id: Uuid| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT node_id FROM sessions WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .expect("owner")
        }
    };
    // Only node b runs: it takes the first session.
    let (stop_b, task_b) = start_b().await;
    let s1 = a.create_session(limits(600), "default").await;
    a.wait_state(s1, "running", Duration::from_secs(90)).await;
    assert_eq!(owner(s1).await, node_b);
    let _ = stop_b.send(());
    task_b.await.expect("join").expect("b stops");
    // Only node a runs: it takes the second, and leaves b's sandbox alone at its start-up.
    a.start_app().await;
    let s2 = a.create_session(limits(600), "default").await;
    a.wait_state(s2, "running", Duration::from_secs(90)).await;
    assert_eq!(owner(s2).await, a.node());
    let sandbox1 = a.sandbox_name(s1).await;
    let labels = a
        .docker
        .inspect_container(&sandbox1, None)
        .await
        .expect("b's sandbox survives a's reconcile")
        .config
        .expect("config")
        .labels
        .expect("labels");
    assert_eq!(labels["remote-claude.node"], node_b);
    // Both run: each stop reaches its owner through the owner's node queue.
    let (stop_b, task_b) = start_b().await;
    for (session, node) in [(s1, node_b.clone()), (s2, a.node())] {
        a.bus
            .publish(&SessionCommand::Stop {
                session_id: session,
                org_id: a.org_id,
                reason: format!("stopped on {node}"),
                node_id: Some(node),
            })
            .await
            .expect("stop");
    }
    assert_eq!(
        a.wait_state(s1, "stopped", Duration::from_secs(60)).await,
        Some(format!("stopped on {node_b}"))
    );
    assert_eq!(
        a.wait_state(s2, "stopped", Duration::from_secs(60)).await,
        Some(format!("stopped on {}", a.node()))
    );
    assert!(!a.container_exists(&sandbox1).await);
    let _ = stop_b.send(());
    task_b.await.expect("join").expect("b stops");
    if let Ok(channel) = a.bus.consumer_channel().await {
        let _ = a.bus.topology().delete_node_queue(&channel, &node_b).await;
    }
    for c in session_manager::sandbox::Engine::connect("")
        .await
        .expect("engine")
        .list_managed(&node_b)
        .await
        .unwrap_or_default()
    {
        let _ = session_manager::sandbox::Engine::connect("")
            .await
            .expect("engine")
            .remove_sandbox(&c.name, true)
            .await;
    }
    remove_volumes_of(&a.docker, &node_b).await;
    a.finish().await;
}

#[tokio::test]
async fn start_up_reconcile_removes_orphans_and_fails_sessions_whose_container_vanished() {
    let mut h = Harness::new(|_| {}).await;
    h.start_app().await;
    let session = h.create_session(limits(3600), "default").await;
    h.wait_state(session, "running", Duration::from_secs(90))
        .await;
    let sandbox = h.sandbox_name(session).await;
    h.stop_app().await;
    // While session-manager is away: its session's container vanishes, and a container of
    // this node that no session names appears (a crash between create and record).
    h.docker
        .remove_container(
            &sandbox,
            Some(
                bollard::query_parameters::RemoveContainerOptionsBuilder::default()
                    .force(true)
                    .build(),
            ),
        )
        .await
        .expect("remove the session's container");
    let engine = session_manager::sandbox::Engine::connect("")
        .await
        .expect("engine");
    let orphan = format!("rc-sbx-orphan-{}", Uuid::new_v4().simple());
    engine
        .create_sandbox(&session_manager::sandbox::SandboxSpec {
            name: orphan.clone(),
            image: IMAGE.into(),
            limits: serde_json::from_value(limits(600)).expect("limits"),
            node_id: h.node(),
            session: Some((Uuid::now_v7(), h.org_id)),
            tmp_size_mb: 64,
        })
        .await
        .expect("orphan");
    assert!(h.container_exists(&orphan).await);
    h.start_app().await;
    let reason = h
        .wait_state(session, "failed", Duration::from_secs(60))
        .await;
    assert_eq!(reason.as_deref(), Some("the sandbox container disappeared"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while h.container_exists(&orphan).await || h.volume_exists(&format!("{orphan}-ws")).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "orphan sandbox not removed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    h.finish().await;
}
