//! A real file-service (in-process, port 0) against real Postgres, the real S3-compatible
//! server and real sandboxes: containers of `local/claude-sandbox:latest` (built by
//! scripts/build-sandbox-image.sh) hardened like session-manager's, with the agent as their
//! main process. Containers carry `remote-claude.managed=true` and are removed on drop, also
//! when a test fails.

use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType};
use bollard::query_parameters::CreateContainerOptionsBuilder;
use bollard::Docker;
use file_service::Application;
use rc_config::Settings;
use serde_json::json;
use sqlx::PgPool;
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

pub const IMAGE: &str = "local/claude-sandbox:latest";
pub const TOKEN: &str = rc_config::DEV_FILE_SERVICE_TOKEN;
/// Bound on every wait: a hang fails the test instead of stalling CI.
pub const TIMEOUT: Duration = Duration::from_secs(60);

pub struct Harness {
    _db: rc_testkit::TestDb,
    pub pool: PgPool,
    pub settings: Settings,
    pub base: String,
    pub http: reqwest::Client,
    pub org_id: Uuid,
    pub user_id: Uuid,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Harness {
    pub async fn new(tweak: impl FnOnce(&mut Settings)) -> Self {
        rc_telemetry::init_for_test();
        let db = rc_testkit::TestDb::new().await.expect("database");
        let mut settings = Settings::default();
        settings.database = db.settings();
        settings.file_service.port = 0;
        settings.s3.endpoint = rc_testkit::s3_endpoint();
        settings.s3.bucket = format!("rctest-{}", &Uuid::new_v4().simple().to_string()[..12]);
        tweak(&mut settings);
        let pool = PgPool::connect(db.settings().url.expose())
            .await
            .expect("pool");
        let (org_id, user_id) = (Uuid::now_v7(), Uuid::now_v7());
        insert_org(&pool, org_id, user_id).await;
        // Change events only log here; their way through the bus to a session's event log
        // is tested with the whole platform (api tests/live).
        let app = Application::build_with(
            settings.clone(),
            std::sync::Arc::new(file_service::changes::LogChanges),
        )
        .await
        .expect("builds");
        let base = format!("http://127.0.0.1:{}", app.port());
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        Self {
            _db: db,
            pool,
            settings,
            base,
            http: reqwest::Client::new(),
            org_id,
            user_id,
            stop: Some(stop),
        }
    }

    /// A session row in `state`, served by `sandbox` (when given).
    pub async fn session(&self, state: &str, sandbox: Option<&str>) -> Uuid {
        self.session_in(self.org_id, state, sandbox).await
    }

    pub async fn session_in(&self, org_id: Uuid, state: &str, sandbox: Option<&str>) -> Uuid {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO sessions (id, org_id, owner_id, name, image, limits, network_policy, \
             model, permission_mode, state, sandbox_name, state_reason) \
             VALUES ($1, $2, $3, 'files', $4, '{}', 'none', 'claude-sonnet-4-5', 'default', \
             $5::session_state, $6, CASE WHEN $5 = 'failed' THEN 'test' END)",
        )
        .bind(id)
        .bind(org_id)
        .bind(self.user_id)
        .bind(IMAGE)
        .bind(state)
        .bind(sandbox)
        .execute(&self.pool)
        .await
        .expect("session row");
        id
    }

    /// Another organisation (with the same user as a member).
    pub async fn other_org(&self) -> Uuid {
        let org_id = Uuid::now_v7();
        sqlx::query("INSERT INTO organizations (id, name, slug) VALUES ($1, 'Other', $2)")
            .bind(org_id)
            .bind(format!("other-{}", &org_id.simple().to_string()[20..]))
            .execute(&self.pool)
            .await
            .expect("org");
        org_id
    }

    /// A request as the api would send it: the token and the caller's headers.
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        session: Uuid,
        right: &str,
    ) -> reqwest::RequestBuilder {
        self.request_as(method, path, self.org_id, session, right)
    }

    pub fn request_as(
        &self,
        method: reqwest::Method,
        path: &str,
        org_id: Uuid,
        session: Uuid,
        right: &str,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .header("x-rc-org-id", org_id.to_string())
            .header("x-rc-session-id", session.to_string())
            .header("x-rc-user-id", self.user_id.to_string())
            .header("x-rc-right", right)
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        file_service::s3_client(&self.settings.s3)
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn insert_org(pool: &PgPool, org_id: Uuid, user_id: Uuid) {
    sqlx::query("INSERT INTO organizations (id, name, slug) VALUES ($1, 'Acme', $2)")
        .bind(org_id)
        .bind(format!("acme-{}", &org_id.simple().to_string()[20..]))
        .execute(pool)
        .await
        .expect("org");
    sqlx::query("INSERT INTO users (id, email, email_verified) VALUES ($1, $2, true)")
        .bind(user_id)
        .bind(format!("dev-{}@example.com", user_id.simple()))
        .execute(pool)
        .await
        .expect("user");
}

/// One hardened sandbox container (no network, no capabilities, read-only root, uid 1000,
/// the workspace on its own volume), removed with its volume on drop.
pub struct Sandbox {
    pub name: String,
    docker: Docker,
}

impl Sandbox {
    pub async fn start() -> Self {
        let docker = Docker::connect_with_defaults()
            .expect("docker client")
            .negotiate_version()
            .await
            .expect("Docker engine answers (scripts/start-dockerd.sh)");
        docker.inspect_image(IMAGE).await.unwrap_or_else(|e| {
            panic!("sandbox image {IMAGE} missing ({e}); run scripts/build-sandbox-image.sh")
        });
        let name = format!(
            "rc-files-test-{}",
            &Uuid::new_v4().simple().to_string()[..12]
        );
        let sandbox = Self {
            name: name.clone(),
            docker: docker.clone(),
        };
        let body = ContainerCreateBody {
            image: Some(IMAGE.to_owned()),
            user: Some("1000:1000".to_owned()),
            cmd: Some(vec!["sandbox-agent".into(), "serve".into()]),
            working_dir: Some("/workspace".to_owned()),
            labels: Some(HashMap::from([(
                "remote-claude.managed".to_owned(),
                "true".to_owned(),
            )])),
            network_disabled: Some(true),
            host_config: Some(HostConfig {
                init: Some(true),
                cap_drop: Some(vec!["ALL".into()]),
                security_opt: Some(vec!["no-new-privileges".into()]),
                readonly_rootfs: Some(true),
                network_mode: Some("none".into()),
                tmpfs: Some(HashMap::from([
                    ("/tmp".to_owned(), "rw,nosuid,nodev,size=64m".to_owned()),
                    (
                        "/home/agent".to_owned(),
                        "rw,nosuid,nodev,size=16m,uid=1000,gid=1000".to_owned(),
                    ),
                ])),
                mounts: Some(vec![Mount {
                    typ: Some(MountType::VOLUME),
                    source: Some(format!("{name}-ws")),
                    target: Some("/workspace".to_owned()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        docker
            .create_container(
                Some(CreateContainerOptionsBuilder::default().name(&name).build()),
                body,
            )
            .await
            .expect("create sandbox");
        docker
            .start_container(
                &name,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await
            .expect("start sandbox");
        sandbox
    }

    /// Runs a shell command in the sandbox as the sandbox user (to set up symlinks the API
    /// itself would never create); returns its stdout.
    pub async fn sh(&self, script: &str) -> String {
        use bollard::exec::{CreateExecOptions, StartExecResults};
        use futures::StreamExt as _;
        let exec = self
            .docker
            .create_exec(
                &self.name,
                CreateExecOptions {
                    cmd: Some(vec!["sh", "-c", script]),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    user: Some("1000:1000"),
                    ..Default::default()
                },
            )
            .await
            .expect("create exec");
        let mut out = String::new();
        if let StartExecResults::Attached { mut output, .. } = self
            .docker
            .start_exec(&exec.id, None)
            .await
            .expect("start exec")
        {
            while let Some(Ok(chunk)) = output.next().await {
                out.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
            }
        }
        out
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Synchronous on purpose: runs even when the test panicked mid-way.
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", "-v", &self.name])
            .output();
        let _ = std::process::Command::new("docker")
            .args(["volume", "rm", "-f", &format!("{}-ws", self.name)])
            .output();
    }
}

/// Polls (bounded) until the session's files answer: the agent in a fresh container needs a
/// moment to listen on its socket.
pub async fn wait_for_files(h: &Harness, session: Uuid) {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let res = h
            .request(
                reqwest::Method::GET,
                "/internal/v1/files/tree",
                session,
                "read",
            )
            .send()
            .await
            .expect("request");
        if res.status() == 200 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the sandbox's files never answered: {} {}",
            res.status(),
            res.text().await.unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A running session with its own sandbox, ready to serve files.
pub async fn running_session(h: &Harness) -> (Uuid, Sandbox) {
    let sandbox = Sandbox::start().await;
    let session = h.session("running", Some(&sandbox.name)).await;
    wait_for_files(h, session).await;
    (session, sandbox)
}

pub async fn error_code(res: reqwest::Response) -> (u16, String, String) {
    let status = res.status().as_u16();
    let body: serde_json::Value = res.json().await.unwrap_or(json!({}));
    (
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}
