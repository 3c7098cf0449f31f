//! Browser end-to-end tests: real Chromium (Playwright's `playwright-core`, driven by
//! `frontend/e2e/run.mjs`) against the real stack — the api serving the built frontend, with
//! real Postgres (a fresh database per test), Redis and RabbitMQ, the real OpenID provider, and
//! for sandbox specs session-manager and file-service with the real Docker engine, sandbox image
//! and Claude Code CLI talking to the scripted model (fake-anthropic).
//!
//! Each test prepares the platform (users, organisations, login cookies), runs one spec from
//! `frontend/e2e/specs/` and checks what the spec changed where the database can tell.
//!
//! Needs `frontend/dist` (scripts/test builds the frontend first), Chromium
//! (`scripts/install-chromium.sh`), `npm ci` in frontend/ and tools/oidc-provider, and the
//! sandbox image.

// Tests fail loudly by design: unwrap is the assertion.
#![allow(clippy::unwrap_used)]

#[path = "../api/helpers.rs"]
mod helpers;
#[path = "../support/live.rs"]
mod live;

mod browser;

use browser::{base_url, member, org, reserve_port, run_spec, site, user};
use helpers::{spawn_app_with, Options};
use rc_auth::Role;
use rc_testkit::oidc::{OidcClient, OidcProvider};
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn dev_login_opens_the_sessions_page() {
    let port = reserve_port();
    let app = spawn_app_with(site(port)).await;
    run_spec("dev-login", &app.address, json!({})).await;
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(users, 1, "the dev login created the developer account");
}

#[tokio::test]
async fn oidc_login_goes_through_the_providers_pages_and_back() {
    const CLIENT_ID: &str = "remote-claude";
    const CLIENT_SECRET: &str = "e2e-secret";
    let port = reserve_port();
    let callback = format!("{}/api/v1/auth/oidc/callback", base_url(port));
    let provider = OidcProvider::start(&[OidcClient::confidential(
        CLIENT_ID,
        CLIENT_SECRET,
        &callback,
    )])
    .await
    .expect("provider starts");
    let app = spawn_app_with(Options {
        oidc: Some(rc_config::OidcSettings {
            issuer_url: provider.issuer.clone(),
            client_id: CLIENT_ID.into(),
            client_secret: Some(rc_config::Secret::new(CLIENT_SECRET)),
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
        }),
        ..site(port)
    })
    .await;
    run_spec(
        "oidc-login",
        &app.address,
        json!({ "data": { "login": "alice@corp.example" } }),
    )
    .await;
    let (email, issuer): (String, Option<String>) =
        sqlx::query_as("SELECT email, oidc_issuer FROM users")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(email, "alice@corp.example");
    assert_eq!(issuer.as_deref(), Some(provider.issuer.as_str()));
}

#[tokio::test]
async fn a_session_created_in_the_dialog_starts_its_sandbox() {
    let port = reserve_port();
    let mut live = live::Live::on_app(spawn_app_with(site(port)).await, |_| {}).await;
    live.start_files().await;
    let owner = user(&live.app, live.owner).await;
    run_spec(
        "create-session",
        &live.app.address,
        json!({ "users": { "owner": owner }, "data": { "sessionName": "e2e session" } }),
    )
    .await;
    let state: String = sqlx::query_scalar("SELECT state::text FROM sessions WHERE name = $1")
        .bind("e2e session")
        .fetch_one(&live.app.db.pool)
        .await
        .unwrap();
    assert_eq!(state, "running");
}

#[tokio::test]
async fn the_session_view_streams_approves_runs_a_terminal_and_saves_a_file() {
    let port = reserve_port();
    let mut live = live::Live::on_app(spawn_app_with(site(port)).await, |_| {}).await;
    live.start_files().await;
    let session = live.running_session("default").await;
    let owner = user(&live.app, live.owner).await;
    run_spec(
        "session-view",
        &live.app.address,
        json!({
            "users": { "owner": owner },
            "data": {
                "sessionId": session,
                // Writes a file, so the default permission mode asks first.
                "command": "echo approved-run > ok.txt; cat ok.txt",
                "expectedOutput": "approved-run",
                "file": "ok.txt",
                "addition": "edited in the browser",
            },
        }),
    )
    .await;
    let saved = reqwest::Client::new()
        .get(live.app.url(&format!(
            "/api/v1/sessions/{session}/files/content?path=ok.txt"
        )))
        .bearer_auth(&live.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(saved, "approved-run\nedited in the browser");
}

#[tokio::test]
async fn an_admin_changes_a_role_and_the_audit_log_shows_it() {
    let port = reserve_port();
    let app = spawn_app_with(site(port)).await;
    let org = org(&app, "Acme").await;
    let admin = member(&app, org, Role::Admin, "Ada Admin").await;
    let target = member(&app, org, Role::Member, "Morgan Member").await;
    run_spec(
        "member-role-audit",
        &app.address,
        json!({
            "users": { "admin": user(&app, admin).await },
            "data": { "memberName": "Morgan Member", "memberId": target, "newRole": "viewer" },
        }),
    )
    .await;
    let role: String =
        sqlx::query_scalar("SELECT role::text FROM memberships WHERE org_id = $1 AND user_id = $2")
            .bind(org)
            .bind(target)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(role, "viewer");
    let audited: Vec<Uuid> = sqlx::query_scalar(
        "SELECT actor_id FROM audit_logs WHERE action = 'member.role_change' AND target_id = $1",
    )
    .bind(target.to_string())
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(audited, [admin]);
}

#[tokio::test]
async fn a_viewer_sees_no_admin_pages() {
    let port = reserve_port();
    let app = spawn_app_with(site(port)).await;
    let org = org(&app, "Acme").await;
    let viewer = member(&app, org, Role::Viewer, "Vic Viewer").await;
    run_spec(
        "viewer-no-admin",
        &app.address,
        json!({ "users": { "viewer": user(&app, viewer).await } }),
    )
    .await;
}

/// The harness's premise, checked without a browser: the api at its public URL serves the
/// built app for client-side routes.
#[tokio::test]
async fn the_api_serves_the_built_frontend_for_client_routes() {
    let port = reserve_port();
    let app = spawn_app_with(site(port)).await;
    let page = reqwest::get(app.url("/admin/members")).await.unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("<div id=\"root\">"), "{html}");
}
