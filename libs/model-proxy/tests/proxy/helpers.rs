//! A proxy wired to real services: a fresh database with the org/user/session/task rows the
//! usage foreign keys need, the shared Redis under a unique key prefix, the scripted fake
//! model as upstream, and a local TCP listener that hands each accepted socket to
//! `ModelProxy::serve` the way session-manager hands it tunnel streams.

use fake_anthropic::{Config, FakeAnthropic};
use rc_config::{ModelPrice, ModelProxySettings, Secret};
use rc_model_proxy::{ModelProxy, ProxyContext, ProxyError};
use rc_testkit::TestDb;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Bound on every HTTP call: a hung proxy fails the test instead of stalling CI.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Prices the tests compute costs with: the fake model echoes the request's model name.
pub const TEST_MODEL: &str = "claude-test-model";
pub const INPUT_PRICE: f64 = 3.0;
pub const OUTPUT_PRICE: f64 = 15.0;

/// What a test changes from the defaults.
pub struct Setup {
    pub api_key: Option<&'static str>,
    pub auth_token: Option<&'static str>,
    pub requests_per_minute: u32,
    pub monthly_budget_micros: i64,
    /// Replaces the fake model as upstream.
    pub upstream_url: Option<String>,
    /// Replaces the test Redis.
    pub redis_url: Option<String>,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            api_key: Some("sk-ant-real-proxy-key-0123456789"),
            auth_token: None,
            requests_per_minute: 0,
            monthly_budget_micros: 0,
            upstream_url: None,
            redis_url: None,
        }
    }
}

/// The scripted upstream, stopped when dropped.
pub struct Fake {
    pub base: String,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn start_fake() -> Fake {
    let config = Config {
        port: 0,
        workers: 1,
        ..Config::default()
    };
    let server = FakeAnthropic::bind(&config).expect("bind fake model on a free port");
    let base = server.base_url();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(server.run_until_stopped(async move {
        let _ = rx.await;
    }));
    Fake {
        base,
        stop: Some(tx),
    }
}

type Served = JoinHandle<Result<(), ProxyError>>;

pub struct Harness {
    pub db: TestDb,
    pub fake: Fake,
    /// Base URL the "sandbox" (the test's client) talks to.
    pub proxy_url: String,
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub session_id: Uuid,
    /// Set what session-manager would set when a task starts or ends.
    pub task: watch::Sender<Option<Uuid>>,
    connections: Arc<Mutex<Vec<Served>>>,
    accept: JoinHandle<()>,
    http: reqwest::Client,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

pub async fn start(setup: Setup) -> Harness {
    rc_telemetry::init_for_test();
    let db = TestDb::new().await.expect("test database");
    let fake = start_fake();
    let (org_id, user_id, session_id) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    seed(
        &db,
        org_id,
        user_id,
        session_id,
        setup.monthly_budget_micros,
    )
    .await;

    let settings = ModelProxySettings {
        upstream_url: setup.upstream_url.unwrap_or_else(|| fake.base.clone()),
        api_key: setup.api_key.map(Secret::new),
        auth_token: setup.auth_token.map(Secret::new),
        scripted_model: true,
        request_timeout_secs: 30,
        requests_per_minute: setup.requests_per_minute,
        prices: vec![
            ModelPrice {
                model_prefix: "claude-test".into(),
                input: INPUT_PRICE,
                output: OUTPUT_PRICE,
                cache_write: INPUT_PRICE * 1.25,
                cache_read: INPUT_PRICE / 10.0,
            },
            ModelPrice {
                model_prefix: String::new(),
                input: 100.0,
                output: 100.0,
                cache_write: 100.0,
                cache_read: 100.0,
            },
        ],
    };
    let redis = redis_pool(setup.redis_url);
    let prefix = format!("rctest-{}", Uuid::new_v4().simple());
    let proxy =
        ModelProxy::new(&settings, db.pool.clone(), redis, &prefix).expect("proxy from settings");

    let (task, task_rx) = watch::channel(None);
    let ctx = ProxyContext {
        org_id,
        user_id,
        session_id,
        task_id: task_rx,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind proxy listener");
    let proxy_url = format!("http://{}", listener.local_addr().expect("local addr"));
    let connections: Arc<Mutex<Vec<Served>>> = Arc::default();
    let accept = tokio::spawn({
        let connections = connections.clone();
        async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (proxy, ctx) = (proxy.clone(), ctx.clone());
                let served = tokio::spawn(async move { proxy.serve(socket, ctx).await });
                connections.lock().expect("lock").push(served);
            }
        }
    });
    Harness {
        db,
        fake,
        proxy_url,
        org_id,
        user_id,
        session_id,
        task,
        connections,
        accept,
        http: plain_client(),
    }
}

fn redis_pool(url: Option<String>) -> deadpool_redis::Pool {
    let url = url.unwrap_or_else(|| {
        std::env::var("REMOTE_CLAUDE_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned())
    });
    deadpool_redis::Config::from_url(url)
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .expect("redis pool")
}

/// A client that never goes through an environment proxy.
pub fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(HTTP_TIMEOUT)
        .build()
        .expect("client")
}

async fn seed(db: &TestDb, org_id: Uuid, user_id: Uuid, session_id: Uuid, budget: i64) {
    let pool = &db.pool;
    sqlx::query(
        "INSERT INTO organizations (id, name, slug, policy) VALUES ($1, 'Proxy test', $2, $3)",
    )
    .bind(org_id)
    .bind(format!("proxy-{}", org_id.simple()))
    .bind(json!({ "monthly_budget_micros": budget }))
    .execute(pool)
    .await
    .expect("insert org");
    sqlx::query("INSERT INTO users (id, email) VALUES ($1, $2)")
        .bind(user_id)
        .bind(format!("{}@example.test", user_id.simple()))
        .execute(pool)
        .await
        .expect("insert user");
    sqlx::query(
        "INSERT INTO sessions (id, org_id, owner_id, name, image, limits, network_policy, model,
             permission_mode)
         VALUES ($1, $2, $3, 'proxy test', 'local/claude-sandbox:latest', '{}', 'none', $4,
             'default')",
    )
    .bind(session_id)
    .bind(org_id)
    .bind(user_id)
    .bind(TEST_MODEL)
    .execute(pool)
    .await
    .expect("insert session");
}

/// One row of `usage_records`, as the tests compare it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UsageRow {
    pub org_id: Uuid,
    pub user_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub task_id: Option<Uuid>,
    pub model: String,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_creation_tokens: i64,
    pub cache_read_tokens: i64,
    pub cost_micros: i64,
}

impl Harness {
    /// A task row for the session, for the usage row's foreign key.
    pub async fn add_task(&self) -> Uuid {
        let id = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO tasks (id, org_id, session_id, created_by, prompt, position)
             VALUES ($1, $2, $3, $4, 'test', 0)",
        )
        .bind(id)
        .bind(self.org_id)
        .bind(self.session_id)
        .bind(self.user_id)
        .execute(&self.db.pool)
        .await
        .expect("insert task");
        id
    }

    /// A past usage row, for budget tests.
    pub async fn add_spending(&self, cost_micros: i64, days_ago: i32) {
        sqlx::query(
            "INSERT INTO usage_records (org_id, model, cost_micros, created_at)
             VALUES ($1, 'earlier', $2, now() - make_interval(days => $3))",
        )
        .bind(self.org_id)
        .bind(cost_micros)
        .bind(days_ago)
        .execute(&self.db.pool)
        .await
        .expect("insert spending");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.proxy_url)
    }

    /// `POST /v1/messages?beta=true` as the CLI sends it, with the sandbox's dummy
    /// credentials, over `client` (keep-alive connections stay open until it is dropped).
    pub async fn ask_with(
        &self,
        client: &reqwest::Client,
        prompt: &str,
        stream: bool,
    ) -> reqwest::Response {
        cli_request(client, &self.url("/v1/messages?beta=true"))
            .json(&message_body(prompt, stream))
            .send()
            .await
            .expect("POST /v1/messages through the proxy")
    }

    /// Waits until every connection the proxy accepted has ended and returns how each
    /// ended. Usage is written before `serve` returns, so rows can be checked right after.
    /// Drop the clients that made the requests first, or their idle connections stay open.
    pub async fn settle(&self) -> Vec<Result<(), String>> {
        let served: Vec<Served> = std::mem::take(&mut *self.connections.lock().expect("lock"));
        let mut results = Vec::new();
        for handle in served {
            let outcome = tokio::time::timeout(HTTP_TIMEOUT, handle)
                .await
                .expect("connection ends once the client is gone")
                .expect("serve task did not panic");
            results.push(outcome.map_err(|e| e.to_string()));
        }
        results
    }

    pub async fn usage_rows(&self) -> Vec<UsageRow> {
        sqlx::query_as(
            "SELECT org_id, user_id, session_id, task_id, model, input_tokens, output_tokens,
                 cache_creation_tokens, cache_read_tokens, cost_micros
             FROM usage_records WHERE model <> 'earlier' ORDER BY id",
        )
        .fetch_all(&self.db.pool)
        .await
        .expect("usage rows")
    }

    /// What the fake model received.
    pub async fn upstream_requests(&self) -> Vec<Value> {
        self.http
            .get(format!("{}/_fake/requests", self.fake.base))
            .send()
            .await
            .expect("GET /_fake/requests")
            .json()
            .await
            .expect("request log JSON")
    }
}

/// The CLI's headers (claude-cli.md §7.2), dummy credentials included.
pub fn cli_request(client: &reqwest::Client, url: &str) -> reqwest::RequestBuilder {
    client
        .post(url)
        .header("x-api-key", "sk-ant-dummy")
        .header("authorization", "Bearer tok-dummy-123")
        .header("anthropic-version", "2023-06-01")
        .header(
            "anthropic-beta",
            "claude-code-20250219,interleaved-thinking-2025-05-14",
        )
        .header("user-agent", "claude-cli/2.1.328 (external, sdk-cli)")
        .header("x-claude-code-session-id", "3f1c2a9e-cli-session")
        .header("x-app", "cli")
        .header("accept-encoding", "gzip, deflate, br, zstd")
}

pub fn message_body(prompt: &str, stream: bool) -> Value {
    json!({
        "model": TEST_MODEL,
        "max_tokens": 1024,
        "stream": stream,
        "messages": [{"role": "user", "content": prompt}],
    })
}

/// `(event name, data)` pairs of an SSE body.
pub fn sse_events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter(|frame| !frame.trim().is_empty())
        .map(|frame| {
            let mut name = String::new();
            let mut data = Value::Null;
            for line in frame.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    name = v.to_owned();
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(v).expect("SSE data is JSON");
                }
            }
            (name, data)
        })
        .collect()
}

/// Cost in micro-dollars of a test-model response at the test prices.
pub fn test_cost(input: i64, output: i64) -> i64 {
    (input as f64 * INPUT_PRICE + output as f64 * OUTPUT_PRICE).round() as i64
}

/// Asserts the Anthropic error shape and returns the message.
pub async fn anthropic_error(response: reqwest::Response, kind: &str) -> String {
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let body: Value = response.json().await.expect("JSON error body");
    assert_eq!(body["type"], "error", "{body}");
    assert_eq!(body["error"]["type"], kind, "{body}");
    let message = body["error"]["message"]
        .as_str()
        .expect("error message")
        .to_owned();
    assert!(!message.is_empty());
    message
}
