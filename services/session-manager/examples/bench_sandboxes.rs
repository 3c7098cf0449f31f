//! Benchmark target for `bench/sandbox-create.sh`: session create → ready, cold and from the
//! warm pool, and the memory one idle session costs. It prints figures and never asserts them.
//!
//! Everything is real except the model: session-manager runs in this process
//! (`Application::build` + `run_until_stopped`, as in `tests/sandboxes.rs`) against the Docker
//! engine and the `local/claude-sandbox:latest` image (the real agent and Claude Code CLI),
//! a throw-away Postgres database cloned from the migrated template (`rc_testkit::TestDb`),
//! Redis, RabbitMQ (its own exchange `rcbench-<random>`) and the scripted model server.
//!
//! Phases, in this order:
//!
//! 1. **cold** (`warm_pool_size = 0`): `WARMUP_RUNS` unmeasured runs, then `RUNS` measured
//!    ones. A run inserts a session row, publishes `SessionCommand::Create` (what the api does)
//!    and polls the row every `POLL_MS` until it is `running`. The actor sets `running` only
//!    after the in-sandbox agent has answered its hello over the attach exec. The clock starts
//!    before the INSERT. The session is then soft-deleted and `Delete` is published. The next
//!    run starts once the row is `stopped` and the container is gone (not timed).
//! 2. **memory** (same app, still without a pool, so no pooled sandbox is counted):
//!    `IDLE_SESSIONS` sessions are created one after another and left idle. Once every sandbox
//!    runs its Claude CLI, there is a `SETTLE_SECS` pause, then the bench measures:
//!    - the VmRSS growth of this process (which *is* session-manager), divided by the number
//!      of sessions;
//!    - the PSS (and RSS) of every process in each sandbox's cgroup, by kind: `sandbox-agent
//!      serve`, `sandbox-agent attach` (the exec session-manager talks through), tini
//!      (`docker-init`), and the Claude CLI with its children;
//!    - for information: the containerd shim of each sandbox, and the growth of dockerd and
//!      containerd.
//! 3. **warm** (the app restarted with `warm_pool_size = POOL_SIZE`): the same runs as cold.
//!    Before each run (not timed), the bench waits until the pool is full again: `POOL_SIZE`
//!    running containers labelled `remote-claude.pool=true` for this node, and the
//!    `rc_sandbox_pool_ready` gauge at `POOL_SIZE`. Then it pauses `POOL_SETTLE_MS` so the
//!    pooled agents have started. Each run checks that its sandbox came from the pool (pool
//!    label on the container).
//!
//! At the end, and on error or Ctrl-C/SIGTERM, the bench stops the app and removes every
//! container and volume labelled `remote-claude.node=<bench node>`. It also deletes the node
//! queue and the exchange and queues, and drops the database.
//!
//! Output: a human-readable report, then one `RESULT key=value …` line per phase, which the
//! script turns into its summary. Percentiles use the nearest rank (p50 of 20 = 10th fastest,
//! p95 of 20 = 19th).
//!
//! Knobs (environment): `RUNS` (20), `WARMUP_RUNS` (1), `POOL_SIZE` (2), `IDLE_SESSIONS` (10),
//! `SETTLE_SECS` (10), `POLL_MS` (5), `POOL_SETTLE_MS` (1000), `RUST_LOG`
//! (`warn,rc_agent_protocol::client=error`; `warn,bollard::docker=debug` shows every engine call
//! with a timestamp).
//! Postgres: `REMOTE_CLAUDE_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432`).
//! Redis and RabbitMQ: the defaults in `rc_config::Settings::default()`.
//!
//! ```sh
//! cargo run --release -p session-manager --example bench_sandboxes
//! ```

#![allow(clippy::print_stdout)]

use anyhow::{anyhow, bail, Context};
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListVolumesOptionsBuilder, RemoveContainerOptionsBuilder,
    RemoveVolumeOptionsBuilder,
};
use bollard::Docker;
use rc_bus::messages::SessionCommand;
use rc_bus::Bus;
use rc_config::Settings;
use rc_testkit::bench::{interrupted, machine};
use serde_json::json;
use session_manager::sandbox::{LABEL_NODE, LABEL_POOL};
use session_manager::Application;
use sqlx::PgPool;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use uuid::Uuid;

const IMAGE: &str = "local/claude-sandbox:latest";
const MODEL: &str = "claude-sonnet-4-5";
/// Longest a session may take to become ready, or to be gone, before the bench gives up.
const RUN_BOUND: Duration = Duration::from_secs(90);
/// Longest the warm pool may take to fill up.
const POOL_BOUND: Duration = Duration::from_secs(120);

struct Knobs {
    runs: usize,
    warmup: usize,
    pool_size: usize,
    idle_sessions: usize,
    settle: Duration,
    poll: Duration,
    pool_settle: Duration,
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
        let knobs = Self {
            runs: env_or("RUNS", 20)?,
            warmup: env_or("WARMUP_RUNS", 1)?,
            pool_size: env_or("POOL_SIZE", 2)?,
            idle_sessions: env_or("IDLE_SESSIONS", 10)?,
            settle: Duration::from_secs(env_or("SETTLE_SECS", 10)?),
            poll: Duration::from_millis(env_or("POLL_MS", 5)?),
            pool_settle: Duration::from_millis(env_or("POOL_SETTLE_MS", 1000)?),
        };
        if knobs.runs == 0 || knobs.pool_size == 0 || knobs.idle_sessions == 0 {
            bail!("RUNS, POOL_SIZE and IDLE_SESSIONS must be at least 1");
        }
        Ok(knobs)
    }
}

type RunningApp = (
    oneshot::Sender<()>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
);

struct Bench {
    db: Option<rc_testkit::TestDb>,
    pool: PgPool,
    settings: Settings,
    bus: Arc<Bus>,
    docker: Docker,
    org_id: Uuid,
    user_id: Uuid,
    fake_stop: Option<oneshot::Sender<()>>,
    app: Option<RunningApp>,
}

/// One create → ready run, as seen by a client polling the row.
struct Run {
    session: Uuid,
    sandbox: String,
    /// INSERT → row seen `running`.
    ready: Duration,
    /// The same interval by the database's own clock: `started_at - created_at`.
    db_ms: f64,
    /// INSERT → row seen `starting` (claimed by the node).
    claimed: Option<Duration>,
    /// INSERT → row has a container id (cold path only: the container is created and started).
    container: Option<Duration>,
}

impl Bench {
    async fn new() -> anyhow::Result<Self> {
        let docker = Docker::connect_with_defaults().context("docker client")?;
        docker.inspect_image(IMAGE).await.map_err(|e| {
            anyhow!("sandbox image {IMAGE} missing ({e}); run scripts/build-sandbox-image.sh")
        })?;
        let db = rc_testkit::TestDb::new()
            .await
            .context("test database (is Postgres up? scripts/start-backing-services.sh)")?;
        let fake = fake_anthropic::FakeAnthropic::bind(&fake_anthropic::Config {
            port: 0,
            ..Default::default()
        })
        .context("fake model server")?;
        let (fake_stop, fake_rx) = oneshot::channel::<()>();
        let upstream = fake.base_url();
        tokio::spawn(fake.run_until_stopped(async move {
            let _ = fake_rx.await;
        }));
        let unique = Uuid::new_v4().simple().to_string();
        let mut settings = Settings::default();
        settings.database = db.settings();
        settings.session_manager.port = 0;
        settings.session_manager.node_id = format!("bench-{}", &unique[..12]);
        settings.session_manager.sandbox_image = IMAGE.into();
        settings.session_manager.start_timeout_secs = 60;
        settings.session_manager.stop_grace_secs = 2;
        settings.amqp.exchange = format!("rcbench-{unique}");
        settings.redis.key_prefix = format!("rcbench-{unique}");
        settings.model_proxy.upstream_url = upstream;
        settings.model_proxy.api_key = Some(rc_config::Secret::new(format!(
            "sk-ant-BENCH-{}",
            Uuid::new_v4().simple()
        )));
        let pool = PgPool::connect(db.settings().url.expose())
            .await
            .context("pool")?;
        let (org_id, user_id) = (Uuid::now_v7(), Uuid::now_v7());
        sqlx::query("INSERT INTO organizations (id, name, slug) VALUES ($1, 'Bench', $2)")
            .bind(org_id)
            .bind(format!("bench-{}", &org_id.simple().to_string()[20..]))
            .execute(&pool)
            .await?;
        sqlx::query("INSERT INTO users (id, email, email_verified) VALUES ($1, $2, true)")
            .bind(user_id)
            .bind(format!("bench-{}@example.com", user_id.simple()))
            .execute(&pool)
            .await?;
        sqlx::query("INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, 'owner')")
            .bind(org_id)
            .bind(user_id)
            .execute(&pool)
            .await?;
        let bus = Arc::new(Bus::new(&settings.amqp));
        Ok(Self {
            db: Some(db),
            pool,
            settings,
            bus,
            docker,
            org_id,
            user_id,
            fake_stop: Some(fake_stop),
            app: None,
        })
    }

    fn node(&self) -> String {
        self.settings.session_manager.node_id.clone()
    }

    async fn start_app(&mut self, warm_pool_size: usize) -> anyhow::Result<()> {
        self.settings.session_manager.warm_pool_size = u32::try_from(warm_pool_size)?;
        let app = Application::build(self.settings.clone())
            .await
            .context("session-manager builds")?;
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        self.app = Some((tx, handle));
        Ok(())
    }

    async fn stop_app(&mut self) -> anyhow::Result<()> {
        if let Some((tx, handle)) = self.app.take() {
            let _ = tx.send(());
            handle.await.context("join session-manager")??;
        }
        Ok(())
    }

    /// Inserts a session row and publishes `Create`, as the api does.
    async fn create_session(&self) -> anyhow::Result<Uuid> {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO sessions (id, org_id, owner_id, name, image, limits, network_policy, model, permission_mode)
             VALUES ($1, $2, $3, 'bench', $4, $5, 'none', $6, 'default')",
        )
        .bind(id)
        .bind(self.org_id)
        .bind(self.user_id)
        .bind(IMAGE)
        .bind(json!({"cpu_millis": 1000, "memory_mb": 1024, "pids": 256, "idle_timeout_secs": 3600, "max_duration_secs": 3600}))
        .bind(MODEL)
        .execute(&self.pool)
        .await?;
        self.bus
            .publish(&SessionCommand::Create {
                session_id: id,
                org_id: self.org_id,
            })
            .await?;
        Ok(id)
    }

    /// One measured run: create, then poll until the row is `running`.
    async fn create_and_wait(&self, poll: Duration) -> anyhow::Result<Run> {
        let started = Instant::now();
        let session = self.create_session().await?;
        let (mut claimed, mut container) = (None, None);
        loop {
            let (state, reason, sandbox, has_container, db_ms): (
                String,
                Option<String>,
                Option<String>,
                bool,
                Option<f64>,
            ) = sqlx::query_as(
                "SELECT state::text, state_reason, sandbox_name, container_id IS NOT NULL,
                        (EXTRACT(EPOCH FROM started_at - created_at) * 1000)::float8
                 FROM sessions WHERE id = $1",
            )
            .bind(session)
            .fetch_one(&self.pool)
            .await?;
            let elapsed = started.elapsed();
            if has_container {
                container.get_or_insert(elapsed);
            }
            match state.as_str() {
                "running" => {
                    return Ok(Run {
                        session,
                        sandbox: sandbox.unwrap_or_default(),
                        ready: elapsed,
                        db_ms: db_ms.unwrap_or(f64::NAN),
                        claimed: claimed.or(Some(elapsed)),
                        container,
                    })
                }
                "starting" => {
                    claimed.get_or_insert(elapsed);
                }
                "failed" | "stopped" => bail!("session {session} ended {state}: {reason:?}"),
                _ => {}
            }
            if elapsed > RUN_BOUND {
                bail!("session {session} still {state} after {RUN_BOUND:?}");
            }
            tokio::time::sleep(poll).await;
        }
    }

    /// Deletes sessions (soft delete + `Delete`, as the api does) and waits until their rows
    /// are `stopped` and their containers and volumes are gone.
    async fn delete_and_wait(&self, sessions: &[(Uuid, String)]) -> anyhow::Result<()> {
        for (session, _) in sessions {
            sqlx::query("UPDATE sessions SET deleted_at = now() WHERE id = $1")
                .bind(session)
                .execute(&self.pool)
                .await?;
            self.bus
                .publish(&SessionCommand::Delete {
                    session_id: *session,
                    org_id: self.org_id,
                    node_id: Some(self.node()),
                })
                .await?;
        }
        let deadline = Instant::now() + RUN_BOUND;
        for (session, sandbox) in sessions {
            loop {
                let (state, reason): (String, Option<String>) =
                    sqlx::query_as("SELECT state::text, state_reason FROM sessions WHERE id = $1")
                        .bind(session)
                        .fetch_one(&self.pool)
                        .await?;
                let gone = !sandbox.is_empty()
                    && self.docker.inspect_container(sandbox, None).await.is_err()
                    && self
                        .docker
                        .inspect_volume(&format!("{sandbox}-ws"))
                        .await
                        .is_err()
                    && self
                        .docker
                        .inspect_volume(&format!("{sandbox}-home"))
                        .await
                        .is_err();
                if matches!(state.as_str(), "stopped" | "failed") && (gone || sandbox.is_empty()) {
                    if state == "failed" {
                        println!("  warning: session {session} ended failed: {reason:?}");
                    }
                    break;
                }
                if Instant::now() > deadline {
                    bail!("session {session} is {state} ({reason:?}), sandbox {sandbox} not gone after {RUN_BOUND:?}");
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Ok(())
    }

    async fn pool_containers(&self) -> anyhow::Result<(usize, usize)> {
        let filters = HashMap::from([(
            "label".to_owned(),
            vec![
                format!("{LABEL_POOL}=true"),
                format!("{LABEL_NODE}={}", self.node()),
            ],
        )]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let list = self.docker.list_containers(Some(options)).await?;
        let running = list
            .iter()
            .filter(|c| c.state.as_ref().is_some_and(|s| s.to_string() == "running"))
            .count();
        Ok((list.len(), running))
    }

    /// Waits until the warm pool holds `size` started sandboxes; returns how long it took.
    async fn wait_pool_full(&self, size: usize) -> anyhow::Result<Duration> {
        let started = Instant::now();
        loop {
            let (all, running) = self.pool_containers().await?;
            let gauge = metric("rc_sandbox_pool_ready").unwrap_or(0.0);
            if all == size && running == size && gauge as usize == size {
                return Ok(started.elapsed());
            }
            if started.elapsed() > POOL_BOUND {
                bail!("warm pool not full after {POOL_BOUND:?}: {all} pool containers, {running} running, gauge {gauge}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn is_pooled(&self, sandbox: &str) -> bool {
        self.docker
            .inspect_container(sandbox, None)
            .await
            .ok()
            .and_then(|c| c.config)
            .and_then(|c| c.labels)
            .is_some_and(|l| l.contains_key(LABEL_POOL))
    }

    /// Stops the app and removes everything the bench made. Best effort: reports, never fails.
    async fn cleanup(&mut self) {
        if let Err(err) = self.stop_app().await {
            println!("cleanup: session-manager did not stop cleanly: {err:#}");
        }
        let node = self.node();
        let label = HashMap::from([("label".to_owned(), vec![format!("{LABEL_NODE}={node}")])]);
        let (mut containers, mut volumes) = (0, 0);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&label)
            .build();
        if let Ok(list) = self.docker.list_containers(Some(options)).await {
            for c in list {
                let Some(id) = c.id else { continue };
                let options = RemoveContainerOptionsBuilder::default().force(true).build();
                if self
                    .docker
                    .remove_container(&id, Some(options))
                    .await
                    .is_ok()
                {
                    containers += 1;
                }
            }
        }
        let options = ListVolumesOptionsBuilder::default().filters(&label).build();
        if let Ok(list) = self.docker.list_volumes(Some(options)).await {
            for v in list.volumes.unwrap_or_default() {
                let options = RemoveVolumeOptionsBuilder::default().force(true).build();
                if self
                    .docker
                    .remove_volume(&v.name, Some(options))
                    .await
                    .is_ok()
                {
                    volumes += 1;
                }
            }
        }
        if let Ok(channel) = self.bus.consumer_channel().await {
            let _ = self.bus.topology().delete_node_queue(&channel, &node).await;
        }
        self.bus.close().await;
        rc_testkit::service::delete_bus_topology(&self.settings.amqp).await;
        if let Some(stop) = self.fake_stop.take() {
            let _ = stop.send(());
        }
        self.pool.close().await;
        let mut db = String::new();
        if let Some(test_db) = self.db.take() {
            db = test_db.name.clone();
            // Dropping it drops the database (WITH FORCE).
            drop(test_db);
        }
        println!(
            "cleanup: removed {containers} leftover container(s) and {volumes} volume(s) of node {node}; dropped database {db}; deleted exchange {}",
            self.settings.amqp.exchange
        );
    }
}

/// A process-wide metric from session-manager's Prometheus recorder (sum over label sets).
fn metric(name: &str) -> Option<f64> {
    let text = rc_telemetry::prometheus_handle().render();
    let mut found = None;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        if !(rest.starts_with(' ') || rest.starts_with('{')) {
            continue;
        }
        if let Some(v) = rest.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) {
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}

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

struct Summary {
    p50: f64,
    p95: f64,
    min: f64,
    max: f64,
    mean: f64,
}

fn summarise(values: &[f64]) -> Summary {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Summary {
        p50: percentile(&sorted, 50.0),
        p95: percentile(&sorted, 95.0),
        min: sorted.first().copied().unwrap_or(f64::NAN),
        max: sorted.last().copied().unwrap_or(f64::NAN),
        mean: sorted.iter().sum::<f64>() / sorted.len().max(1) as f64,
    }
}

fn print_summary(label: &str, values: &[f64]) -> Summary {
    let s = summarise(values);
    println!(
        "  {label:<34} p50 {:>8.1}  p95 {:>8.1}  min {:>8.1}  max {:>8.1}  mean {:>8.1}  (ms, n={})",
        s.p50,
        s.p95,
        s.min,
        s.max,
        s.mean,
        values.len()
    );
    s
}

/// The machine's CPU time counters (`/proc/stat`, all cores, in ticks).
struct CpuTimes {
    total: u64,
    idle: u64,
    steal: u64,
}

impl CpuTimes {
    fn read() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let fields: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .take(8)
            .filter_map(|v| v.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal (guest time is inside user).
        let [_, _, _, idle, iowait, _, _, steal] = fields.as_slice() else {
            return None;
        };
        Some(Self {
            total: fields.iter().sum(),
            idle: idle + iowait,
            steal: *steal,
        })
    }

    /// How busy the whole machine was since `before`: everything on it counts (engine,
    /// Postgres, this process, and whatever else runs), plus time the hypervisor stole.
    fn since(&self, before: &Self) -> String {
        let total = self.total.saturating_sub(before.total).max(1) as f64;
        let idle = self.idle.saturating_sub(before.idle) as f64;
        let steal = self.steal.saturating_sub(before.steal) as f64;
        format!(
            "machine CPU during the phase: {:.0} % busy (all cores, everything on the machine), {:.1} % stolen by the hypervisor",
            100.0 * (total - idle) / total,
            100.0 * steal / total
        )
    }
}

/// Runs `warmup + runs` create → ready → delete cycles; prints each run and the summary.
async fn create_runs(
    bench: &Bench,
    knobs: &Knobs,
    phase: &str,
    pool_size: Option<usize>,
) -> anyhow::Result<(Vec<Run>, usize)> {
    let mut measured = Vec::new();
    let cpu_before = CpuTimes::read();
    for i in 0..knobs.warmup + knobs.runs {
        let warmup = i < knobs.warmup;
        let refill = match pool_size {
            Some(size) => {
                let took = bench.wait_pool_full(size).await?;
                tokio::time::sleep(knobs.pool_settle).await;
                Some(took)
            }
            None => None,
        };
        let run = bench.create_and_wait(knobs.poll).await?;
        let pooled = bench.is_pooled(&run.sandbox).await;
        println!(
            "  {phase} {:<9} ready {:>7.1} ms (db clock {:>7.1} ms)  claimed at {:>6.1} ms{}{}  sandbox {}{}",
            if warmup {
                "warm-up".to_owned()
            } else {
                format!("run {:>2}", i - knobs.warmup + 1)
            },
            ms(run.ready),
            run.db_ms,
            run.claimed.map(ms).unwrap_or(f64::NAN),
            run.container
                .map(|c| format!("  container up at {:>6.1} ms", ms(c)))
                .unwrap_or_default(),
            refill
                .map(|r| format!("  (pool refilled in {:.0} ms)", ms(r)))
                .unwrap_or_default(),
            run.sandbox,
            if pooled { " [from pool]" } else { "" },
        );
        bench
            .delete_and_wait(&[(run.session, run.sandbox.clone())])
            .await?;
        if !warmup {
            measured.push((run, pooled));
        }
    }
    if let (Some(before), Some(after)) = (cpu_before, CpuTimes::read()) {
        println!("  {phase}: {}", after.since(&before));
    }
    let from_pool = measured.iter().filter(|(_, p)| *p).count();
    let runs: Vec<Run> = measured.into_iter().map(|(r, _)| r).collect();
    println!(
        "  {phase}: {from_pool}/{} measured sandboxes came from the warm pool",
        runs.len()
    );
    Ok((runs, from_pool))
}

fn report_runs(phase: &str, runs: &[Run]) -> Summary {
    let ready: Vec<f64> = runs.iter().map(|r| ms(r.ready)).collect();
    let db: Vec<f64> = runs.iter().map(|r| r.db_ms).collect();
    let claimed: Vec<f64> = runs.iter().filter_map(|r| r.claimed.map(ms)).collect();
    let s = print_summary(&format!("{phase}: create → running (polled)"), &ready);
    print_summary(&format!("{phase}: same, database clock"), &db);
    print_summary(&format!("{phase}: create → claimed (starting)"), &claimed);
    let container: Vec<f64> = runs
        .iter()
        .filter_map(|r| Some(ms(r.container?) - ms(r.claimed?)))
        .collect();
    if !container.is_empty() {
        print_summary(&format!("{phase}: claimed → container started"), &container);
        let rest: Vec<f64> = runs
            .iter()
            .filter_map(|r| Some(ms(r.ready) - ms(r.container?)))
            .collect();
        print_summary(&format!("{phase}: container → agent hello"), &rest);
    } else {
        let rest: Vec<f64> = runs
            .iter()
            .filter_map(|r| Some(ms(r.ready) - ms(r.claimed?)))
            .collect();
        print_summary(&format!("{phase}: claimed → agent hello"), &rest);
    }
    s
}

// ------------------------------------------------------------------------------ memory

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Kind {
    Init,
    Serve,
    Attach,
    Cli,
}

#[derive(Default, Clone, Copy)]
struct Mem {
    pss_kb: u64,
    rss_kb: u64,
    count: usize,
}

impl Mem {
    fn add(&mut self, other: Mem) {
        self.pss_kb += other.pss_kb;
        self.rss_kb += other.rss_kb;
        self.count += other.count;
    }
}

/// `Pss` and `Rss` of a process from `/proc/<pid>/smaps_rollup`, in kB.
fn proc_mem(pid: &str) -> Option<Mem> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some(Mem {
        pss_kb: field("Pss:")?,
        rss_kb: field("Rss:")?,
        count: 1,
    })
}

fn status_kb(path: &str, field: &str) -> Option<u64> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

fn pids() -> Vec<String> {
    std::fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
                .collect()
        })
        .unwrap_or_default()
}

fn cmdline(pid: &str) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|c| *c == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// RSS of the first process whose `comm` is `name` (dockerd, containerd).
fn rss_of_comm(name: &str) -> Option<u64> {
    pids().into_iter().find_map(|pid| {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        (comm.trim() == name)
            .then(|| status_kb(&format!("/proc/{pid}/status"), "VmRSS:"))
            .flatten()
    })
}

/// What runs in each container (by full id): memory per kind, and the Claude CLI's
/// process names. Plus the containerd shim of each container.
struct Snapshot {
    per_container: HashMap<String, HashMap<Kind, Mem>>,
    cli_names: HashMap<String, usize>,
    shims: Mem,
}

fn snapshot(container_ids: &[String]) -> Snapshot {
    let mut per_container: HashMap<String, HashMap<Kind, Mem>> = HashMap::new();
    let mut cli_names = HashMap::new();
    let mut shims = Mem::default();
    for pid in pids() {
        let args = cmdline(&pid);
        if args.first().is_some_and(|a| a.contains("containerd-shim")) {
            if container_ids.iter().any(|id| args.iter().any(|a| a == id)) {
                if let Some(m) = proc_mem(&pid) {
                    shims.add(m);
                }
            }
            continue;
        }
        let Ok(cgroup) = std::fs::read_to_string(format!("/proc/{pid}/cgroup")) else {
            continue;
        };
        let Some(id) = container_ids.iter().find(|id| cgroup.contains(id.as_str())) else {
            continue;
        };
        let has = |word: &str| args.iter().any(|a| a == word);
        let is_agent = args.iter().any(|a| a.ends_with("sandbox-agent"));
        let kind = if args.first().is_some_and(|a| a.ends_with("docker-init")) {
            Kind::Init
        } else if is_agent && has("serve") {
            Kind::Serve
        } else if is_agent && has("attach") {
            Kind::Attach
        } else {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            *cli_names.entry(comm.trim().to_owned()).or_insert(0) += 1;
            Kind::Cli
        };
        if let Some(m) = proc_mem(&pid) {
            per_container
                .entry(id.clone())
                .or_default()
                .entry(kind)
                .or_default()
                .add(m);
        }
    }
    Snapshot {
        per_container,
        cli_names,
        shims,
    }
}

fn mb(kb: f64) -> f64 {
    kb * 1024.0 / 1_000_000.0
}

async fn memory_phase(bench: &Bench, knobs: &Knobs) -> anyhow::Result<String> {
    let n = knobs.idle_sessions;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let self_rss_before = status_kb("/proc/self/status", "VmRSS:").unwrap_or(0);
    let self_anon_before = status_kb("/proc/self/status", "RssAnon:").unwrap_or(0);
    let dockerd_before = rss_of_comm("dockerd");
    let containerd_before = rss_of_comm("containerd");
    let mut sessions = Vec::new();
    let started = Instant::now();
    for _ in 0..n {
        let run = bench.create_and_wait(knobs.poll).await?;
        sessions.push((run.session, run.sandbox));
    }
    println!(
        "  memory: {n} sessions running after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut ids = Vec::new();
    for (_, sandbox) in &sessions {
        let inspect = bench.docker.inspect_container(sandbox, None).await?;
        ids.push(inspect.id.unwrap_or_default());
    }
    // The CLI starts right after the hello; wait until every sandbox runs it.
    let deadline = Instant::now() + RUN_BOUND;
    loop {
        let snap = snapshot(&ids);
        let with_cli = ids
            .iter()
            .filter(|id| {
                snap.per_container
                    .get(*id)
                    .is_some_and(|k| k.contains_key(&Kind::Cli))
            })
            .count();
        if with_cli == ids.len() {
            break;
        }
        if Instant::now() > deadline {
            println!(
                "  warning: only {with_cli}/{} sandboxes run a Claude CLI process",
                ids.len()
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "  memory: every sandbox runs its CLI; settling {} s",
        knobs.settle.as_secs()
    );
    tokio::time::sleep(knobs.settle).await;

    let snap = snapshot(&ids);
    let self_rss_after = status_kb("/proc/self/status", "VmRSS:").unwrap_or(0);
    let self_anon_after = status_kb("/proc/self/status", "RssAnon:").unwrap_or(0);
    let dockerd_after = rss_of_comm("dockerd");
    let containerd_after = rss_of_comm("containerd");
    let mut totals: HashMap<Kind, Mem> = HashMap::new();
    for kinds in snap.per_container.values() {
        for (kind, m) in kinds {
            totals.entry(*kind).or_default().add(*m);
        }
    }
    let nf = n as f64;
    let per = |kind: Kind| {
        let m = totals.get(&kind).copied().unwrap_or_default();
        (m.pss_kb as f64 / nf, m.rss_kb as f64 / nf, m.count)
    };
    let sm_delta_kb = self_rss_after as f64 - self_rss_before as f64;
    let sm_anon_delta_kb = self_anon_after as f64 - self_anon_before as f64;
    let sm_per = sm_delta_kb / nf;
    println!(
        "  memory per idle session (MB = 10^6 bytes; PSS shares pages between the {n} sandboxes):"
    );
    let line = |label: &str, kind: Kind| {
        let (pss, rss, count) = per(kind);
        println!(
            "    {label:<34} PSS {:>7.2} MB   RSS {:>7.2} MB   ({count} processes in {n} sandboxes)",
            mb(pss),
            mb(rss)
        );
        (pss, rss)
    };
    let serve = line("sandbox-agent serve", Kind::Serve);
    let attach = line("sandbox-agent attach (exec)", Kind::Attach);
    let init = line("tini (docker-init)", Kind::Init);
    let cli = line("Claude CLI + children (excluded)", Kind::Cli);
    println!(
        "    {:<34} VmRSS {:>+7.2} MB (RssAnon {:>+7.2} MB) per session; process VmRSS {:.1} → {:.1} MB",
        "session-manager (this process)",
        mb(sm_per),
        mb(sm_anon_delta_kb / nf),
        mb(self_rss_before as f64),
        mb(self_rss_after as f64)
    );
    // PSS divides pages shared between the sandboxes (the agent binary, libc), so it falls as
    // the number of sessions grows; RSS counts them in full for every session: an upper bound.
    let total = serve.0 + attach.0 + sm_per;
    let total_rss = serve.1 + attach.1 + sm_per;
    println!(
        "    {:<34} {:>7.2} MB per idle session (agent serve + attach PSS + session-manager)",
        "TOTAL, CLI excluded",
        mb(total)
    );
    println!(
        "    {:<34} {:>7.2} MB per idle session (upper bound: nothing shared)",
        "  same with RSS instead of PSS",
        mb(total_rss)
    );
    println!(
        "    {:<34} {:>7.2} MB per idle session",
        "  PSS total plus tini",
        mb(total + init.0)
    );
    let mut names: Vec<_> = snap.cli_names.iter().collect();
    names.sort();
    println!(
        "  for information: CLI processes by name: {}",
        names
            .iter()
            .map(|(k, v)| format!("{k}×{v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  for information: containerd-shim per sandbox PSS {:.2} MB RSS {:.2} MB ({} shims)",
        mb(snap.shims.pss_kb as f64 / nf),
        mb(snap.shims.rss_kb as f64 / nf),
        snap.shims.count
    );
    let delta = |before: Option<u64>, after: Option<u64>| match (before, after) {
        (Some(b), Some(a)) => format!("{:+.2} MB", mb((a as f64 - b as f64) / nf)),
        _ => "n/a".to_owned(),
    };
    println!(
        "  for information: VmRSS growth per session of dockerd {}, containerd {} (shared engine: other users of the engine move these)",
        delta(dockerd_before, dockerd_after),
        delta(containerd_before, containerd_after)
    );
    let result = format!(
        "RESULT phase=memory sessions={n} total_mb={:.2} total_rss_mb={:.2} serve_mb={:.2} attach_mb={:.2} session_manager_mb={:.2} tini_mb={:.2} cli_pss_mb={:.2} cli_rss_mb={:.2} shim_mb={:.2}",
        mb(total),
        mb(total_rss),
        mb(serve.0),
        mb(attach.0),
        mb(sm_per),
        mb(init.0),
        mb(cli.0),
        mb(cli.1),
        mb(snap.shims.pss_kb as f64 / nf)
    );
    bench.delete_and_wait(&sessions).await?;
    Ok(result)
}

// ------------------------------------------------------------------------------ main

fn result_line(phase: &str, s: &Summary, extra: &str) -> String {
    format!(
        "RESULT phase={phase} p50_ms={:.1} p95_ms={:.1} min_ms={:.1} max_ms={:.1}{extra}",
        s.p50, s.p95, s.min, s.max
    )
}

async fn run(bench: &mut Bench, knobs: &Knobs) -> anyhow::Result<Vec<String>> {
    let mut results = Vec::new();

    println!(
        "\n== cold: warm_pool_size 0, {} warm-up + {} runs",
        knobs.warmup, knobs.runs
    );
    bench.start_app(0).await?;
    let (sum0, count0) = (
        metric("rc_sandbox_create_seconds_sum").unwrap_or(0.0),
        metric("rc_sandbox_create_seconds_count").unwrap_or(0.0),
    );
    let (cold, _) = create_runs(bench, knobs, "cold", None).await?;
    let (sum1, count1) = (
        metric("rc_sandbox_create_seconds_sum").unwrap_or(0.0),
        metric("rc_sandbox_create_seconds_count").unwrap_or(0.0),
    );
    let s = report_runs("cold", &cold);
    if count1 > count0 {
        println!(
            "  cold: engine create (2 volumes + container create + start), session-manager's histogram: mean {:.1} ms over {} creates (warm-up included)",
            (sum1 - sum0) / (count1 - count0) * 1000.0,
            count1 - count0
        );
    }
    results.push(result_line("cold", &s, &format!(" runs={}", cold.len())));

    println!(
        "\n== memory: {} idle sessions (warm_pool_size 0)",
        knobs.idle_sessions
    );
    results.push(memory_phase(bench, knobs).await?);

    println!(
        "\n== warm: restart with warm_pool_size {}, {} warm-up + {} runs",
        knobs.pool_size, knobs.warmup, knobs.runs
    );
    bench.stop_app().await?;
    let claims0 = metric("rc_sandbox_pool_claims_total").unwrap_or(0.0);
    bench.start_app(knobs.pool_size).await?;
    let took = bench.wait_pool_full(knobs.pool_size).await?;
    println!(
        "  warm: pool of {} filled {:.0} ms after start",
        knobs.pool_size,
        ms(took)
    );
    let (warm, from_pool) = create_runs(bench, knobs, "warm", Some(knobs.pool_size)).await?;
    let claims = metric("rc_sandbox_pool_claims_total").unwrap_or(0.0) - claims0;
    let s = report_runs("warm", &warm);
    println!(
        "  warm: rc_sandbox_pool_claims_total grew by {claims} over {} runs (warm-up included)",
        warm.len() + knobs.warmup
    );
    results.push(result_line(
        "warm",
        &s,
        &format!(
            " runs={} from_pool={from_pool} pool_claims={claims}",
            warm.len()
        ),
    ));
    bench.stop_app().await?;
    Ok(results)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let knobs = Knobs::from_env()?;
    let mut settings_for_log = Settings::default();
    settings_for_log.telemetry.log_format = rc_config::LogFormat::Pretty;
    // The agent client warns "closing the agent connection … connection is closed" whenever a
    // sandbox is stopped under it, i.e. at every delete here; that would bury the report.
    settings_for_log.telemetry.log_filter = "warn,rc_agent_protocol::client=error".into();
    let _telemetry = rc_telemetry::init(session_manager::SERVICE, &settings_for_log.telemetry)?;

    println!("sandbox create → ready benchmark; {}", machine());
    let mut bench = Bench::new().await?;
    println!(
        "node {}, database {}, exchange {}, image {IMAGE}",
        bench.node(),
        bench.db.as_ref().map(|d| d.name.as_str()).unwrap_or(""),
        bench.settings.amqp.exchange
    );
    let result = tokio::select! {
        r = run(&mut bench, &knobs) => r,
        () = interrupted() => Err(anyhow!("interrupted")),
    };
    println!();
    bench.cleanup().await;
    println!("finished; {}", machine());
    let results = result?;
    for line in results {
        println!("{line}");
    }
    Ok(())
}
