use crate::helpers::{assert_error, spawn_app};
use rc_auth::{Role, Scope};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn token_lifecycle_secret_shown_once_bearer_works_revoked_fails() {
    let mut app = spawn_app().await;
    app.dev_login().await;
    let (status, created) = app
        .browser_call(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({ "name": "ci", "scopes": ["read", "write"], "expires_in_days": 30 })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("rct_"));
    assert!(secret.starts_with(created["token"]["prefix"].as_str().unwrap()));

    let (_, list) = app.browser_call(Method::GET, "/api/v1/tokens", None).await;
    let listed = list.to_string();
    assert!(!listed.contains(&secret), "the listing leaks the secret");
    assert_eq!(list[0]["name"], "ci");

    let (status, me) = app
        .token_call(&secret, Method::GET, "/api/v1/me", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert!(me["csrf_token"].is_null());
    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_hash FROM api_tokens")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_ne!(stored, secret.as_bytes(), "the secret itself is stored");
    let last_used: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT last_used_at FROM api_tokens")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert!(last_used.is_some());

    let id = created["token"]["id"].as_str().unwrap();
    let (status, _) = app
        .browser_call(Method::DELETE, &format!("/api/v1/tokens/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, err) = app
        .token_call(&secret, Method::GET, "/api/v1/me", None)
        .await;
    assert_error(status, &err, 401, "unauthenticated");
    let actions = app.audit_actions().await;
    assert!(
        actions.contains(&"token.create".into()) && actions.contains(&"token.revoke".into()),
        "{actions:?}"
    );
}

#[tokio::test]
async fn scopes_narrow_the_role_and_are_capped_by_it() {
    let mut app = spawn_app().await;
    let owner = app.dev_login().await;
    let org = app.org_of(owner).await;
    let read_only = app
        .token_for(org, owner, Role::Owner, vec![Scope::Read])
        .await;
    let (status, _) = app
        .token_call(&read_only, Method::GET, "/api/v1/sessions", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, err) = app
        .token_call(
            &read_only,
            Method::POST,
            "/api/v1/sessions",
            Some(json!({ "name": "x" })),
        )
        .await;
    assert_error(status, &err, 403, "forbidden");
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("'write' scope"));

    let (_, viewer) = app.user_with_role(org, Role::Viewer).await;
    let (status, err) = app
        .token_call(
            &viewer,
            Method::POST,
            "/api/v1/tokens",
            Some(json!({ "name": "x", "scopes": ["write"] })),
        )
        .await;
    // The viewer's own token only carries `read`, so it cannot manage tokens at all.
    assert_error(status, &err, 403, "forbidden");
    let (status, err) = app
        .browser_call(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({ "name": "x", "scopes": [] })),
        )
        .await;
    assert_error(status, &err, 400, "validation_failed");
    assert_eq!(err["error"]["field"], "scopes");
    let (status, err) = app
        .browser_call(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({ "name": "x", "scopes": ["read"], "expires_in_days": 0 })),
        )
        .await;
    assert_error(status, &err, 400, "validation_failed");
    assert_eq!(err["error"]["field"], "expires_in_days");
    let (status, err) = app
        .browser_call(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({ "name": "x", "scopes": ["root"] })),
        )
        .await;
    assert_error(status, &err, 400, "validation_failed");
}

#[tokio::test]
async fn expired_and_malformed_tokens_are_401() {
    let mut app = spawn_app().await;
    let owner = app.dev_login().await;
    let org = app.org_of(owner).await;
    let token = app
        .token_for(org, owner, Role::Owner, vec![Scope::Read])
        .await;
    sqlx::query("UPDATE api_tokens SET expires_at = now() - interval '1 second'")
        .execute(&app.db.pool)
        .await
        .unwrap();
    for t in [token.as_str(), "rct_nope", "garbage", ""] {
        let (status, err) = app
            .token_call(t, Method::GET, "/api/v1/sessions", None)
            .await;
        assert_error(status, &err, 401, "unauthenticated");
    }
}
