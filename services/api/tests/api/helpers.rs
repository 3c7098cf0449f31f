#![allow(clippy::unwrap_used, dead_code)]

use api::startup::Application;

use lapin::options::{BasicAckOptions, BasicGetOptions};
use rc_auth::{authorize, perm, Actor, Credential, RequestMeta, Role, Scope};

use rc_config::Settings;
use rc_testkit::TestDb;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

pub const PUBLIC_URL: &str = "http://localhost:3000";

pub struct TestApp {
    pub address: String,
    pub db: TestDb,
    pub settings: Settings,
    /// Browser-like client with a cookie jar (logged in by `dev_login`).
    pub browser: reqwest::Client,
    /// CSRF token of the browser's session, once logged in.
    pub csrf: Option<String>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

pub struct Options {
    pub rate_per_second: u32,
    pub burst: u32,
    pub max_body_bytes: usize,
    pub oidc: Option<rc_config::OidcSettings>,
    pub allowed_domains: Vec<String>,
    pub frontend_dir: String,
    /// Port to listen on; 0 picks a free one.
    pub port: u16,
    /// `api.public_url` (the origin cookie-authenticated mutations must come from); defaults to
    /// [`PUBLIC_URL`]. Browser tests set it to the api's real address.
    pub public_url: Option<String>,
    /// `auth.live_recheck_secs`.
    pub live_recheck_secs: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            rate_per_second: 10_000,
            burst: 10_000,
            max_body_bytes: 64 * 1024,
            oidc: None,
            allowed_domains: vec![],
            frontend_dir: String::new(),
            port: 0,
            public_url: None,
            live_recheck_secs: Settings::default().auth.live_recheck_secs,
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    rc_telemetry::init_for_test();
    let db = TestDb::new().await.expect("test database");
    let unique = Uuid::new_v4().simple().to_string();
    let mut settings = Settings::default();
    settings.database = db.settings();
    settings.redis.key_prefix = format!("rctest-{unique}");
    settings.amqp.exchange = format!("rctest-{unique}");
    settings.api.port = options.port;
    settings.api.public_url = options
        .public_url
        .clone()
        .unwrap_or_else(|| PUBLIC_URL.into());
    settings.api.frontend_dir = options.frontend_dir.clone();
    settings.api.max_body_bytes = options.max_body_bytes;
    settings.api.rate_limit.per_second = options.rate_per_second;
    settings.api.rate_limit.burst = options.burst;
    settings.auth.oidc = options.oidc.clone();
    settings.auth.allowed_domains = options.allowed_domains.clone();
    settings.auth.live_recheck_secs = options.live_recheck_secs;
    let app = Application::build(settings.clone())
        .await
        .expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        address,
        db,
        settings,
        browser,
        csrf: None,
        stop: Some(tx),
        handle: Some(handle),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Logs the browser in with the dev login (the first user becomes owner of the default
    /// organisation) and returns the user's id.
    pub async fn dev_login(&mut self) -> Uuid {
        let res = self
            .browser
            .post(self.url("/api/v1/auth/dev-login"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        self.csrf = Some(body["csrf_token"].as_str().unwrap().to_owned());
        body["user"]["id"].as_str().unwrap().parse().unwrap()
    }

    /// A browser logged in as `user` (a login session created directly in the store, as the
    /// OIDC callback would), with its CSRF token.
    pub async fn browser_for(&self, user: Uuid) -> (reqwest::Client, String) {
        let redis = rc_runtime::checks::redis_pool(self.settings.redis.url.expose(), 2).unwrap();
        let store = api::auth::store::LoginStore::new(redis, &self.settings.redis.key_prefix, 3600);
        let (sid, session) = store.create(user).await.unwrap();
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        jar.add_cookie_str(&format!("rc_session={sid}"), &self.address.parse().unwrap());
        let client = reqwest::Client::builder()
            .cookie_provider(jar)
            .build()
            .unwrap();
        (client, session.csrf)
    }

    /// A new login session by the dev login, returning the raw `rc_session` cookie value (for
    /// tests that replay or hand-craft requests).
    pub async fn new_session_id(&self) -> String {
        let res = self
            .browser
            .post(self.url("/api/v1/auth/dev-login"))
            .send()
            .await
            .unwrap();
        let sid = res
            .cookies()
            .find(|c| c.name() == "rc_session")
            .unwrap()
            .value()
            .to_owned();
        sid
    }

    /// A request from the logged-in browser, with the CSRF header on mutations.
    pub async fn browser_call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.browser.request(method.clone(), self.url(path));
        if method != Method::GET {
            if let Some(csrf) = &self.csrf {
                req = req.header("x-csrf-token", csrf);
            }
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A request with an API token.
    pub async fn token_call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = reqwest::Client::new()
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn org_of(&self, user_id: Uuid) -> Uuid {
        sqlx::query_scalar(
            "SELECT org_id FROM memberships WHERE user_id = $1 ORDER BY created_at LIMIT 1",
        )
        .bind(user_id)
        .fetch_one(&self.db.pool)
        .await
        .unwrap()
    }

    /// A new organisation with an owner, for cross-organisation tests. Returns (org, owner token).
    pub async fn other_org(&self) -> (Uuid, String) {
        let owner = self
            .insert_user(&format!("owner-{}@other.example", Uuid::new_v4().simple()))
            .await;
        let org = Uuid::now_v7();
        sqlx::query("INSERT INTO organizations (id, name, slug) VALUES ($1, 'Other', $2)")
            .bind(org)
            .bind(format!("other-{}", org.simple()))
            .execute(&self.db.pool)
            .await
            .unwrap();
        let token = self.member_token(org, owner, Role::Owner).await;
        (org, token)
    }

    pub async fn insert_user(&self, email: &str) -> Uuid {
        let id = Uuid::now_v7();
        sqlx::query("INSERT INTO users (id, email, email_verified) VALUES ($1, $2, true)")
            .bind(id)
            .bind(email)
            .execute(&self.db.pool)
            .await
            .unwrap();
        id
    }

    /// Adds `user` to `org` with `role` and returns an API token with every scope the role
    /// can grant.
    pub async fn member_token(&self, org: Uuid, user: Uuid, role: Role) -> String {
        sqlx::query("INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, $3) ON CONFLICT (org_id, user_id) DO UPDATE SET role = $3")
            .bind(org)
            .bind(user)
            .bind(role)
            .execute(&self.db.pool)
            .await
            .unwrap();
        self.token_for(org, user, role, role.grantable_scopes().to_vec())
            .await
    }

    pub async fn token_for(&self, org: Uuid, user: Uuid, role: Role, scopes: Vec<Scope>) -> String {
        let actor = Actor {
            user_id: user,
            email: "x@example.com".into(),
            org_id: org,
            role,
            credential: Credential::LoginSession,
            meta: RequestMeta::default(),
        };
        let granted = authorize::<perm::TokensManage>(actor).unwrap();
        rc_domain::tokens::create(
            &self.db.pool,
            &granted,
            rc_domain::tokens::CreateToken {
                name: "test".into(),
                scopes,
                expires_in_days: None,
            },
        )
        .await
        .unwrap()
        .secret
    }

    /// A user with `role` in `org`, returning (user id, token).
    pub async fn user_with_role(&self, org: Uuid, role: Role) -> (Uuid, String) {
        let user = self
            .insert_user(&format!(
                "{}-{}@example.com",
                role.as_str(),
                Uuid::new_v4().simple()
            ))
            .await;
        (user, self.member_token(org, user, role).await)
    }

    pub async fn audit_actions(&self) -> Vec<String> {
        sqlx::query_scalar("SELECT action FROM audit_logs ORDER BY id")
            .fetch_all(&self.db.pool)
            .await
            .unwrap()
    }

    /// Messages waiting in session-manager's queue (taken off it).
    pub async fn drain_session_manager_queue(&self) -> Vec<Value> {
        self.drain_queue("session-manager.commands").await
    }

    /// Takes (and acks) every message waiting in this test's queue `<exchange>.<name>`.
    pub async fn drain_queue(&self, name: &str) -> Vec<Value> {
        let conn = lapin::Connection::connect(
            self.settings.amqp.url.expose(),
            lapin::ConnectionProperties::default(),
        )
        .await
        .unwrap();
        let channel = conn.create_channel().await.unwrap();
        let queue = format!("{}.{name}", self.settings.amqp.exchange);
        let mut out = Vec::new();
        while let Some(msg) = channel
            .basic_get(&queue, BasicGetOptions::default())
            .await
            .unwrap()
        {
            out.push(serde_json::from_slice(&msg.delivery.data).unwrap());
            msg.delivery.ack(BasicAckOptions::default()).await.unwrap();
        }
        let _ = conn.close(200, "done").await;
        out
    }

    pub async fn create_session(&self, token: &str, name: &str) -> Value {
        let (status, body) = self
            .token_call(
                token,
                Method::POST,
                "/api/v1/sessions",
                Some(json!({ "name": name })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// Stops the api gracefully and starts a new process-equivalent on the same backing
    /// services (database, Redis, broker); `address` changes.
    pub async fn restart(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.unwrap().unwrap();
        }
        let app = Application::build(self.settings.clone())
            .await
            .expect("app builds again");
        self.address = format!("http://127.0.0.1:{}", app.port());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        self.handle = Some(tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        })));
        self.stop = Some(tx);
    }

    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.unwrap().unwrap();
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Remove this test's exchange and queues from the shared broker.
        let settings = self.settings.amqp.clone();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(conn) = lapin::Connection::connect(
                    settings.url.expose(),
                    lapin::ConnectionProperties::default(),
                )
                .await
                {
                    if let Ok(channel) = conn.create_channel().await {
                        let topology = rc_bus::topology::Topology::new(
                            &settings.exchange,
                            settings.max_deliveries,
                        );
                        let _ = topology.delete(&channel).await;
                    }
                    let _ = conn.close(200, "done").await;
                }
            });
        })
        .join();
    }
}

pub fn assert_error(status: StatusCode, body: &Value, expected_status: u16, code: &str) {
    assert_eq!(status.as_u16(), expected_status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long a WebSocket test waits for one expected frame.
pub const FRAME_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

impl TestApp {
    /// A new organisation and an owner's API token.
    pub async fn org_with_owner(&self) -> (Uuid, String) {
        let id = Uuid::now_v7();
        sqlx::query("INSERT INTO organizations (id, name, slug) VALUES ($1, 'Acme', $2)")
            .bind(id)
            .bind(format!("acme-{}", id.simple()))
            .execute(&self.db.pool)
            .await
            .unwrap();
        let (_, owner) = self.user_with_role(id, Role::Owner).await;
        (id, owner)
    }

    /// A WebSocket to `path` with an API token (and a subprotocol, for GraphQL); the upgrade
    /// must succeed.
    pub async fn ws(&self, path: &str, token: &str, protocol: Option<&str>) -> Socket {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
        let url = format!("{}{path}", self.address.replace("http://", "ws://"));
        let mut request = url.into_client_request().unwrap();
        let headers = request.headers_mut();
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        if let Some(protocol) = protocol {
            headers.insert("sec-websocket-protocol", protocol.parse().unwrap());
        }
        let (socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(response.status(), 101);
        socket
    }
}

/// The next text frame as JSON (pings skipped); fails on a close or after [`FRAME_WAIT`].
pub async fn next_json(socket: &mut Socket) -> Value {
    use futures::StreamExt as _;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let frame = tokio::time::timeout(FRAME_WAIT, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no frame within {FRAME_WAIT:?}"))
            .expect("socket open")
            .unwrap();
        match frame {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Close(frame) => panic!("closed: {frame:?}"),
            _ => continue,
        }
    }
}
