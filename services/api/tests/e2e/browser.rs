//! What every browser test needs: the api serving the built frontend at an address the browser
//! can use as the platform's public URL, login cookies for any user, and a runner for one
//! Playwright spec (`node frontend/e2e/run.mjs <spec>`) in real Chromium.

use crate::helpers::{Options, TestApp};
use rc_auth::Role;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How long one spec may run (launching Chromium included). nextest ends a test after 120 s.
const SPEC_BOUND: Duration = Duration::from_secs(100);

/// `<repo>/` (this crate lives in `<repo>/services/api`).
pub fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// The built frontend (`frontend/dist`), absolute; fails clearly when it was not built.
pub fn frontend_dist() -> String {
    let dist = repo_root().join("frontend/dist");
    assert!(
        dist.join("index.html").is_file(),
        "{} is missing: build the frontend before the browser tests \
         (`npm ci && npm run build` in frontend/; scripts/test does this before cargo nextest)",
        dist.join("index.html").display()
    );
    dist.to_string_lossy().into_owned()
}

/// A port for the api, known before it starts: the browser must reach the api at its public URL
/// (the only origin it accepts mutations from), and the OpenID provider must know the callback
/// URL before the api is configured with the provider's issuer. Picked below Linux's ephemeral
/// range (32768+), which the kernel never hands out for port 0 or outgoing connections, so
/// nothing else in the test run takes it between this check and the api's bind.
pub fn reserve_port() -> u16 {
    for _ in 0..200 {
        let port = 20_000 + (Uuid::new_v4().as_u128() % 12_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in 20000-31999");
}

/// Options for an api that serves `frontend/dist` at `http://127.0.0.1:<port>`, that address
/// being its public URL.
pub fn site(port: u16) -> Options {
    Options {
        frontend_dir: frontend_dist(),
        port,
        public_url: Some(base_url(port)),
        ..Options::default()
    }
}

pub fn base_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// A new organisation named `name`.
pub async fn org(app: &TestApp, name: &str) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO organizations (id, name, slug) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(name)
        .bind(format!("e2e-{}", id.simple()))
        .execute(&app.db.pool)
        .await
        .unwrap();
    id
}

/// A member of `org` with `role`, called `display_name` (the name the UI shows).
pub async fn member(app: &TestApp, org: Uuid, role: Role, display_name: &str) -> Uuid {
    let email = format!("{}-{}@example.com", role.as_str(), Uuid::new_v4().simple());
    let user = app.insert_user(&email).await;
    sqlx::query("UPDATE users SET display_name = $2 WHERE id = $1")
        .bind(user)
        .bind(display_name)
        .execute(&app.db.pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, $3)")
        .bind(org)
        .bind(user)
        .bind(role)
        .execute(&app.db.pool)
        .await
        .unwrap();
    user
}

/// A browser user for the spec's context: a login session for `user` created in the store (as
/// the OIDC callback would), i.e. the `rc_session` and `rc_csrf` cookies the browser would hold.
pub async fn user(app: &TestApp, user: Uuid) -> Value {
    let redis = rc_runtime::checks::redis_pool(app.settings.redis.url.expose(), 2).unwrap();
    let store = api::auth::store::LoginStore::new(redis, &app.settings.redis.key_prefix, 3600);
    let (sid, session) = store.create(user).await.unwrap();
    json!({ "session": sid, "csrf": session.csrf })
}

/// Runs `frontend/e2e/run.mjs <spec>` against `base_url` with `context` (users, spec data) and
/// fails the test unless it exits 0. Its output is printed either way.
pub async fn run_spec(spec: &str, base_url: &str, context: Value) {
    let root = repo_root();
    let node = std::env::var("REMOTE_CLAUDE_NODE").unwrap_or_else(|_| "node".to_owned());
    let mut context = context;
    context["baseUrl"] = json!(base_url);
    let started = Instant::now();
    let child = tokio::process::Command::new(&node)
        .arg(root.join("frontend/e2e/run.mjs"))
        .arg(spec)
        .env("E2E_CONTEXT", context.to_string())
        .current_dir(root.join("frontend"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|err| panic!("spawning `{node} frontend/e2e/run.mjs`: {err}"));
    let output = tokio::time::timeout(SPEC_BOUND, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("spec {spec} did not finish within {SPEC_BOUND:?}"))
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!(
        "--- spec {spec} ({:.1} s) ---\n{stdout}{stderr}",
        started.elapsed().as_secs_f64()
    );
    assert!(
        output.status.success(),
        "spec {spec} failed ({}):\n{stdout}{stderr}",
        output.status
    );
}
