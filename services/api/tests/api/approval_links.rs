//! Signed approval links: minting (REST, GraphQL), the decision page without a login, single
//! use, expiry, tampering and key rotation. Permission requests are inserted the way
//! session-manager records them; the real CLI side is in `tests/live`.

use crate::helpers::{assert_error, spawn_app, TestApp, PUBLIC_URL};
use rc_auth::Role;
use rc_config::{LinkKey, Secret};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

struct Fixture {
    app: TestApp,
    org: Uuid,
    /// Owner of the session the request belongs to.
    member: Uuid,
    member_token: String,
    session: Uuid,
}

async fn fixture() -> Fixture {
    let mut app = spawn_app().await;
    let owner = app.dev_login().await;
    let org = app.org_of(owner).await;
    let (member, member_token) = app.user_with_role(org, Role::Member).await;
    let session = app.create_session(&member_token, "phone approvals").await;
    let session = session["id"].as_str().unwrap().parse().unwrap();
    Fixture {
        app,
        org,
        member,
        member_token,
        session,
    }
}

/// A pending request, as session-manager records it.
async fn insert_approval(f: &Fixture, tool: &str, input: Value) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO approvals (id, org_id, session_id, request_id, tool_name, input, expires_at) VALUES ($1, $2, $3, $4, $5, $6, now() + interval '10 minutes')",
    )
    .bind(id)
    .bind(f.org)
    .bind(f.session)
    .bind(Uuid::new_v4().to_string())
    .bind(tool)
    .bind(input)
    .execute(&f.app.db.pool)
    .await
    .unwrap();
    id
}

async fn bash_approval(f: &Fixture) -> Uuid {
    insert_approval(
        f,
        "Bash",
        json!({ "command": "rm -rf build", "description": "Clean the build" }),
    )
    .await
}

/// Mints over REST; returns the page's path (`/approve/<token>`).
async fn mint(f: &Fixture, token: &str, approval: Uuid) -> String {
    let (status, body) = f
        .app
        .token_call(
            token,
            Method::POST,
            &format!("/api/v1/approvals/{approval}/link"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    page_path(body["url"].as_str().unwrap())
}

fn page_path(url: &str) -> String {
    let path = url
        .strip_prefix(PUBLIC_URL)
        .unwrap_or_else(|| panic!("{url} is not under the public url"));
    assert!(path.starts_with("/approve/"), "{url}");
    path.to_owned()
}

/// A request without any cookie or token, like a phone opening a notification.
async fn get_page(app: &TestApp, path: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let res = reqwest::get(app.url(path)).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    (status, headers, res.text().await.unwrap())
}

async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let res = reqwest::Client::new()
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.text().await.unwrap())
}

#[derive(Debug, sqlx::FromRow)]
struct Row {
    state: String,
    decision: Option<String>,
    message: Option<String>,
    decided_by: Option<Uuid>,
    decided_via: Option<String>,
}

async fn row(app: &TestApp, id: Uuid) -> Row {
    sqlx::query_as(
        "SELECT state::text AS state, decision, message, decided_by, decided_via FROM approvals WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_page_shows_the_escaped_request_without_login_and_never_decides() {
    let f = fixture().await;
    let approval = insert_approval(
        &f,
        "Write",
        json!({ "file_path": "/workspace/x.html", "content": "<script>alert('pwned')</script>" }),
    )
    .await;
    let (status, body) = f
        .app
        .token_call(
            &f.member_token,
            Method::POST,
            &format!("/api/v1/approvals/{approval}/link"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let expires_at: chrono::DateTime<chrono::Utc> =
        body["expires_at"].as_str().unwrap().parse().unwrap();
    assert!(expires_at > chrono::Utc::now());
    let path = page_path(body["url"].as_str().unwrap());

    for _ in 0..2 {
        let (status, headers, html) = get_page(&f.app, &path).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(
            html.contains("phone approvals") && html.contains("Write"),
            "{html}"
        );
        assert!(
            html.contains(r#"value="allow""#)
                && html.contains(r#"value="always""#)
                && html.contains(r#"value="deny""#)
        );
        assert!(html.contains(&format!(r#"action="{path}""#)), "{html}");
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("form-action 'self'"),
            "{csp}"
        );
        // The inline style is allowed by its hash, so the page renders under its own CSP.
        let style = html
            .split("<style>")
            .nth(1)
            .unwrap()
            .split("</style>")
            .next()
            .unwrap();
        use base64::Engine as _;
        use sha2::Digest as _;
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(style));
        assert!(csp.contains(&format!("style-src 'sha256-{hash}'")), "{csp}");
        assert!(headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
    }
    // Looking is not deciding.
    assert_eq!(row(&f.app, approval).await.state, "pending");
    let uses: i64 = sqlx::query_scalar("SELECT count(*) FROM approval_link_uses")
        .fetch_one(&f.app.db.pool)
        .await
        .unwrap();
    assert_eq!(uses, 0);
    let minted: Value = sqlx::query_scalar(
        "SELECT details FROM audit_logs WHERE action = 'approval.link_create' AND actor_id = $1",
    )
    .bind(f.member)
    .fetch_one(&f.app.db.pool)
    .await
    .unwrap();
    assert_eq!(minted["session_id"], f.session.to_string());
    assert!(!minted
        .to_string()
        .contains(path.trim_start_matches("/approve/")));
}

#[tokio::test]
async fn posting_the_form_decides_once_as_the_links_author() {
    let f = fixture().await;
    let approval = bash_approval(&f).await;
    let path = mint(&f, &f.member_token, approval).await;

    let (status, html) = post_form(
        &f.app,
        &path,
        &[("decision", "allow"), ("message", "ignored")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Allowed."), "{html}");
    let decided = row(&f.app, approval).await;
    assert_eq!(decided.state, "allowed");
    assert_eq!(decided.decision.as_deref(), Some("allow"));
    assert_eq!(decided.decided_via.as_deref(), Some("link"));
    assert_eq!(decided.decided_by, Some(f.member));
    let (actor, details): (Option<Uuid>, Value) = sqlx::query_as(
        "SELECT actor_id, details FROM audit_logs WHERE action = 'approval.decide' AND target_id = $1",
    )
    .bind(approval.to_string())
    .fetch_one(&f.app.db.pool)
    .await
    .unwrap();
    assert_eq!(actor, Some(f.member));
    assert_eq!(details["via"], "link");
    assert_eq!(details["decision"], "allow");

    // Used: the same link, again or by GET, says so.
    let (status, html) = post_form(&f.app, &path, &[("decision", "deny")]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("already used"), "{html}");
    let (status, _, html) = get_page(&f.app, &path).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("already used"), "{html}");
    assert_eq!(row(&f.app, approval).await.state, "allowed");

    // A deny with a message; the message is escaped on the result page.
    let second = bash_approval(&f).await;
    let path = mint(&f, &f.member_token, second).await;
    let (status, html) = post_form(
        &f.app,
        &path,
        &[("decision", "deny"), ("message", "<b>not on main</b>")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("Denied.") && html.contains("&lt;b&gt;not on main&lt;/b&gt;"),
        "{html}"
    );
    let denied = row(&f.app, second).await;
    assert_eq!(
        (denied.state.as_str(), denied.message.as_deref()),
        ("denied", Some("<b>not on main</b>"))
    );

    // Bad form input leaves the link usable.
    let third = bash_approval(&f).await;
    let path = mint(&f, &f.member_token, third).await;
    let (status, _) = post_form(&f.app, &path, &[("decision", "maybe")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, html) = post_form(&f.app, &path, &[("decision", "always")]).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(row(&f.app, third).await.decision.as_deref(), Some("always"));
}

#[tokio::test]
async fn concurrent_uses_of_one_link_decide_once() {
    let f = fixture().await;
    let approval = bash_approval(&f).await;
    let path = mint(&f, &f.member_token, approval).await;
    let (a, b) = tokio::join!(
        post_form(&f.app, &path, &[("decision", "allow")]),
        post_form(&f.app, &path, &[("decision", "deny")])
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{a:?} {b:?}"
    );
    let decisions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_logs WHERE action = 'approval.decide'")
            .fetch_one(&f.app.db.pool)
            .await
            .unwrap();
    assert_eq!(decisions, 1);
}

#[tokio::test]
async fn a_request_decided_elsewhere_or_gone_gets_a_clear_page() {
    let f = fixture().await;
    let approval = bash_approval(&f).await;
    let path = mint(&f, &f.member_token, approval).await;
    let (status, body) = f
        .app
        .token_call(
            &f.member_token,
            Method::POST,
            &format!("/api/v1/approvals/{approval}/decision"),
            Some(json!({ "decision": "deny" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, html) = get_page(&f.app, &path).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("already denied via rest"), "{html}");
    let (status, html) = post_form(&f.app, &path, &[("decision", "allow")]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("already denied via rest"), "{html}");
    assert_eq!(row(&f.app, approval).await.state, "denied");

    // The request disappears with its session.
    let gone = bash_approval(&f).await;
    let path = mint(&f, &f.member_token, gone).await;
    sqlx::query("DELETE FROM approvals WHERE id = $1")
        .bind(gone)
        .execute(&f.app.db.pool)
        .await
        .unwrap();
    let (status, _, html) = get_page(&f.app, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("approval not found"), "{html}");
    let (status, _) = post_form(&f.app, &path, &[("decision", "allow")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_link_acts_with_its_authors_current_rights() {
    let f = fixture().await;
    let approval = bash_approval(&f).await;
    let path = mint(&f, &f.member_token, approval).await;
    sqlx::query("UPDATE memberships SET role = 'viewer' WHERE user_id = $1")
        .bind(f.member)
        .execute(&f.app.db.pool)
        .await
        .unwrap();
    let (status, _, html) = get_page(&f.app, &path).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
    let (status, html) = post_form(&f.app, &path, &[("decision", "allow")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
    assert!(html.contains("no longer allows"), "{html}");
    assert_eq!(row(&f.app, approval).await.state, "pending");
}

#[tokio::test]
async fn expired_tampered_and_malformed_links_are_refused() {
    let f = fixture().await;
    let approval = bash_approval(&f).await;
    // The test runs in the api's process, so it shares the per-process key.
    let keys = rc_domain::approval_links::LinkKeys::from_settings(&f.app.settings).unwrap();
    let (expired, _) = rc_domain::approval_links::sign(
        &keys,
        approval,
        f.org,
        f.member,
        chrono::Utc::now() - chrono::Duration::seconds(1),
    )
    .unwrap();
    let (status, _, html) = get_page(&f.app, &format!("/approve/{expired}")).await;
    assert_eq!(status, StatusCode::GONE, "{html}");
    assert!(html.contains("expired"), "{html}");
    let (status, _) = post_form(
        &f.app,
        &format!("/approve/{expired}"),
        &[("decision", "allow")],
    )
    .await;
    assert_eq!(status, StatusCode::GONE);

    let path = mint(&f, &f.member_token, approval).await;
    // Another approval id under the original signature.
    let token = path.trim_start_matches("/approve/");
    let (payload, tag) = token.split_once('.').unwrap();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: Value = serde_json::from_slice(&b64.decode(payload).unwrap()).unwrap();
    claims["a"] = json!(Uuid::now_v7());
    let forged = format!("{}.{tag}", b64.encode(serde_json::to_vec(&claims).unwrap()));
    for bad in [forged.as_str(), &format!("{payload}.{}", "A".repeat(43))] {
        let (status, _, html) = get_page(&f.app, &format!("/approve/{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(html.contains("signature does not match"), "{html}");
        let (status, _) =
            post_form(&f.app, &format!("/approve/{bad}"), &[("decision", "allow")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    for bad in ["nonsense", &token[..token.len() / 2]] {
        let (status, _, html) = get_page(&f.app, &format!("/approve/{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(html.contains("malformed"), "{html}");
    }
    // Other methods get a page that does not echo the token.
    let res = reqwest::Client::new()
        .delete(f.app.url(&path))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(!res.text().await.unwrap().contains(token));
    assert_eq!(row(&f.app, approval).await.state, "pending");
}

fn key(id: &str, fill: char) -> LinkKey {
    LinkKey {
        id: id.into(),
        secret: Secret::new(fill.to_string().repeat(40)),
    }
}

#[tokio::test]
async fn keys_rotate_and_the_ttl_comes_from_settings() {
    let mut f = fixture().await;
    let approval = bash_approval(&f).await;
    f.app.settings.approvals.link_keys = vec![key("old", 'a')];
    f.app.restart().await;
    let old_link = mint(&f, &f.member_token, approval).await;

    // New key first: new links use it, old links still verify.
    f.app.settings.approvals.link_keys = vec![key("new", 'b'), key("old", 'a')];
    f.app.restart().await;
    let (status, _, html) = get_page(&f.app, &old_link).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let new_link = mint(&f, &f.member_token, approval).await;

    // Old key removed: its links stop working, the new key's do not.
    f.app.settings.approvals.link_keys = vec![key("new", 'b')];
    f.app.restart().await;
    let (status, _, html) = get_page(&f.app, &old_link).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{html}");
    let (status, html) = post_form(&f.app, &new_link, &[("decision", "allow")]).await;
    assert_eq!(status, StatusCode::OK, "{html}");

    // A zero TTL: the link is expired as soon as it exists.
    f.app.settings.approvals.link_ttl_secs = 0;
    f.app.restart().await;
    let pending = bash_approval(&f).await;
    let link = mint(&f, &f.member_token, pending).await;
    let (status, _, html) = get_page(&f.app, &link).await;
    assert_eq!(status, StatusCode::GONE, "{html}");
}

#[tokio::test]
async fn minting_needs_the_rights_to_decide_a_pending_request() {
    let f = fixture().await;
    let approval = bash_approval(&f).await;
    let call = |token: String, id: Uuid| {
        let app = &f.app;
        async move {
            app.token_call(
                &token,
                Method::POST,
                &format!("/api/v1/approvals/{id}/link"),
                None,
            )
            .await
        }
    };
    let (_, viewer) = f.app.user_with_role(f.org, Role::Viewer).await;
    let (status, body) = call(viewer, approval).await;
    assert_error(status, &body, 403, "forbidden");
    let (_, other_member) = f.app.user_with_role(f.org, Role::Member).await;
    let (status, body) = call(other_member, approval).await;
    assert_error(status, &body, 404, "not_found");
    let (_, stranger) = f.app.other_org().await;
    let (status, body) = call(stranger, approval).await;
    assert_error(status, &body, 404, "not_found");
    let (status, body) = call(f.member_token.clone(), Uuid::now_v7()).await;
    assert_error(status, &body, 404, "not_found");
    // An admin may mint for someone else's session; the link decides as the admin.
    let (admin, admin_token) = f.app.user_with_role(f.org, Role::Admin).await;
    let path = mint(&f, &admin_token, approval).await;
    let (status, html) = post_form(&f.app, &path, &[("decision", "allow")]).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(row(&f.app, approval).await.decided_by, Some(admin));
    // Decided: no more links.
    let (status, body) = call(f.member_token.clone(), approval).await;
    assert_error(status, &body, 409, "conflict");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already allowed via link"),
        "{body}"
    );
}

#[tokio::test]
async fn graphql_mints_the_same_links() {
    let f = fixture().await;
    let approval = bash_approval(&f).await;
    let gql = |token: &str, id: Uuid| {
        reqwest::Client::new()
            .post(f.app.url("/graphql"))
            .bearer_auth(token)
            .json(&json!({
                "query": "mutation($id: UUID!) { createApprovalLink(id: $id) { url expiresAt } }",
                "variables": { "id": id },
            }))
            .send()
    };
    let resp: Value = gql(&f.member_token, approval)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(resp["errors"].is_null(), "{resp}");
    let path = page_path(resp["data"]["createApprovalLink"]["url"].as_str().unwrap());
    assert!(resp["data"]["createApprovalLink"]["expiresAt"].is_string());
    let (status, _, html) = get_page(&f.app, &path).await;
    assert_eq!(status, StatusCode::OK, "{html}");

    let (_, viewer) = f.app.user_with_role(f.org, Role::Viewer).await;
    let resp: Value = gql(&viewer, approval).await.unwrap().json().await.unwrap();
    assert_eq!(
        resp["errors"][0]["extensions"]["code"], "forbidden",
        "{resp}"
    );
}

#[tokio::test]
async fn prod_without_configured_keys_refuses_to_mint() {
    let mut f = fixture().await;
    let approval = bash_approval(&f).await;
    f.app.settings.profile = rc_config::Profile::Prod;
    f.app.restart().await;
    let (status, body) = f
        .app
        .token_call(
            &f.member_token,
            Method::POST,
            &format!("/api/v1/approvals/{approval}/link"),
            None,
        )
        .await;
    assert_error(status, &body, 403, "feature_disabled");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("approvals.link_keys"),
        "{body}"
    );
    f.app.settings.approvals.link_keys = vec![key("k1", 'a')];
    f.app.restart().await;
    mint(&f, &f.member_token, approval).await;
}
