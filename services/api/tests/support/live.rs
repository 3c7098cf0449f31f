//! The live-stack harness shared by the tests that need real sandboxes (`tests/live`,
//! `tests/e2e`): the api and session-manager in-process on port 0 against real Postgres, Redis
//! and RabbitMQ, the real Docker engine and sandbox image with the real Claude Code CLI, talking
//! to the scripted model server (fake-anthropic); file-service on request.
//!
//! A test crate using it declares `mod helpers` (tests/api/helpers.rs) at its root, then
//! `#[path = "../support/live.rs"] mod live;`.
//!
//! Needs `scripts/build-sandbox-image.sh` to have run (scripts/test and CI do).

// Tests fail loudly by design: unwrap is the assertion. Not every crate uses every helper.
#![allow(clippy::unwrap_used, dead_code)]

use crate::helpers::{spawn_app, TestApp};
use rc_auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use uuid::Uuid;

pub const IMAGE: &str = "local/claude-sandbox:latest";
/// Generous bounds: a cold sandbox plus a CLI start on a loaded 2-core CI machine.
pub const START_BOUND: Duration = Duration::from_secs(90);
pub const TURN_BOUND: Duration = Duration::from_secs(90);

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct Live {
    pub app: TestApp,
    /// An API token of `owner`.
    pub token: String,
    /// The organisation the harness created, and its owner.
    pub org: Uuid,
    pub owner: Uuid,
    /// session-manager's node id (labels this test's sandboxes).
    pub node: String,
    sm_stop: Option<tokio::sync::oneshot::Sender<()>>,
    sm: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _fake_stop: tokio::sync::oneshot::Sender<()>,
    /// The scripted model's base URL (its request log is at `/_fake/requests`).
    pub fake_url: String,
    /// session-manager's settings, to start it again.
    sm_settings: rc_config::Settings,
    files_stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Live {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// With session-manager's settings adjusted by `tweak`.
    pub async fn start_with(tweak: impl FnOnce(&mut rc_config::Settings)) -> Self {
        Self::on_app(spawn_app().await, tweak).await
    }

    /// Around an api the caller spawned (e.g. with `helpers::spawn_app_with`, to serve the
    /// frontend or log in through OpenID), session-manager's settings adjusted by `tweak`.
    pub async fn on_app(app: TestApp, tweak: impl FnOnce(&mut rc_config::Settings)) -> Self {
        let fake = fake_anthropic::FakeAnthropic::bind(&fake_anthropic::Config {
            port: 0,
            ..Default::default()
        })
        .unwrap();
        let upstream = fake.base_url();
        let fake_url = upstream.clone();
        let (fake_stop, fake_rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(fake.run_until_stopped(async move {
            let _ = fake_rx.await;
        }));
        let mut settings = app.settings.clone();
        settings.session_manager.port = 0;
        settings.session_manager.node_id =
            format!("live-{}", &Uuid::new_v4().simple().to_string()[..12]);
        settings.session_manager.sandbox_image = IMAGE.into();
        settings.session_manager.start_timeout_secs = 60;
        settings.session_manager.stop_grace_secs = 1;
        settings.model_proxy.upstream_url = upstream;
        settings.model_proxy.api_key = Some(rc_config::Secret::new("sk-ant-test-only"));
        tweak(&mut settings);
        let node = settings.session_manager.node_id.clone();
        let sm_settings = settings.clone();
        let sm = session_manager::Application::build(settings)
            .await
            .expect("session-manager builds");
        let (sm_stop, rx) = tokio::sync::oneshot::channel::<()>();
        let sm = tokio::spawn(sm.run_until_stopped(async move {
            let _ = rx.await;
        }));
        let org = Uuid::now_v7();
        sqlx::query("INSERT INTO organizations (id, name, slug) VALUES ($1, 'Live', $2)")
            .bind(org)
            .bind(format!("live-{}", org.simple()))
            .execute(&app.db.pool)
            .await
            .unwrap();
        let (owner, token) = app.user_with_role(org, Role::Owner).await;
        Self {
            app,
            token,
            org,
            owner,
            node,
            sm_stop: Some(sm_stop),
            sm: Some(sm),
            _fake_stop: fake_stop,
            fake_url,
            sm_settings,
            files_stop: None,
        }
    }

    /// Stops session-manager gracefully (sandboxes keep running) and starts it again.
    pub async fn restart_session_manager(&mut self) {
        if let Some(stop) = self.sm_stop.take() {
            let _ = stop.send(());
        }
        if let Some(sm) = self.sm.take() {
            sm.await.unwrap().unwrap();
        }
        let sm = session_manager::Application::build(self.sm_settings.clone())
            .await
            .expect("session-manager builds again");
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        self.sm = Some(tokio::spawn(sm.run_until_stopped(async move {
            let _ = rx.await;
        })));
        self.sm_stop = Some(stop);
    }

    /// Starts file-service in-process and points the api at it (the api restarts).
    pub async fn start_files(&mut self) {
        let mut settings = self.app.settings.clone();
        settings.file_service.port = 0;
        settings.s3.endpoint = rc_testkit::s3_endpoint();
        settings.s3.bucket = format!("rctest-{}", &Uuid::new_v4().simple().to_string()[..12]);
        let files = file_service::Application::build(settings)
            .await
            .expect("file-service builds");
        self.app.settings.file_service.internal_url = format!("http://127.0.0.1:{}", files.port());
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(files.run_until_stopped(async move {
            let _ = rx.await;
        }));
        self.files_stop = Some(stop);
        self.app.restart().await;
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.app.token_call(&self.token, method, path, body).await
    }

    /// A running session with `permission_mode`.
    pub async fn running_session(&self, permission_mode: &str) -> Uuid {
        let (status, session) = self
            .call(
                Method::POST,
                "/api/v1/sessions",
                Some(json!({"name": "live", "permission_mode": permission_mode})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{session}");
        let id: Uuid = session["id"].as_str().unwrap().parse().unwrap();
        let deadline = tokio::time::Instant::now() + START_BOUND;
        loop {
            let (_, s) = self
                .call(Method::GET, &format!("/api/v1/sessions/{id}"), None)
                .await;
            match s["state"].as_str() {
                Some("running") => return id,
                Some("failed") => panic!("session failed: {s}"),
                _ if tokio::time::Instant::now() > deadline => panic!("not running: {s}"),
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    pub async fn queue(&self, session: Uuid, prompt: &str) -> Uuid {
        let (status, task) = self
            .call(
                Method::POST,
                &format!("/api/v1/sessions/{session}/tasks"),
                Some(json!({ "prompt": prompt })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{task}");
        task["id"].as_str().unwrap().parse().unwrap()
    }

    pub async fn events(&self, session: Uuid, after_seq: i64) -> Socket {
        let url = format!(
            "{}/api/v1/sessions/{session}/events?after_seq={after_seq}",
            self.app.address.replace("http://", "ws://")
        );
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {}", self.token).parse().unwrap(),
        );
        tokio_tungstenite::connect_async(request).await.unwrap().0
    }

    pub async fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        let res = reqwest::Client::new()
            .post(self.app.url("/graphql"))
            .bearer_auth(token)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .unwrap();
        res.json().await.unwrap()
    }

    pub async fn decide(&self, token: &str, approval: &str, body: Value) -> (StatusCode, Value) {
        self.app
            .token_call(
                token,
                Method::POST,
                &format!("/api/v1/approvals/{approval}/decision"),
                Some(body),
            )
            .await
    }

    pub async fn task(&self, id: Uuid) -> Value {
        self.call(Method::GET, &format!("/api/v1/tasks/{id}"), None)
            .await
            .1
    }
}

impl Drop for Live {
    /// Sandboxes of this test's node go, whatever the test's outcome.
    fn drop(&mut self) {
        if let Some(stop) = self.files_stop.take() {
            let _ = stop.send(());
        }
        if let Some(stop) = self.sm_stop.take() {
            let _ = stop.send(());
        }
        if let Some(sm) = self.sm.take() {
            sm.abort();
        }
        let names = std::process::Command::new("docker")
            .args(["ps", "-a", "--format", "{{.Names}}", "--filter"])
            .arg(format!("label=remote-claude.node={}", self.node))
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        for name in names.split_whitespace() {
            let _ = std::process::Command::new("docker")
                .args(["rm", "-f", name])
                .output();
            let _ = std::process::Command::new("docker")
                .args(["volume", "rm", "-f"])
                .arg(session_manager::sandbox::spec::workspace_volume(name))
                .arg(session_manager::sandbox::spec::home_volume(name))
                .output();
        }
    }
}
