use crate::helpers::{assert_error, spawn_app, spawn_app_with, Options};
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn bad_requests_get_clear_json_errors_never_500() {
    let mut app = spawn_app().await;
    app.dev_login().await;
    let csrf = app.csrf.clone().unwrap();
    let post = |body: &'static str, ct: &'static str| {
        app.browser
            .post(app.url("/api/v1/sessions"))
            .header("x-csrf-token", csrf.clone())
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let res = post("{not json", "application/json").await.unwrap();
    let status = res.status();
    assert_error(status, &res.json().await.unwrap(), 400, "malformed_body");
    let res = post("name=x", "application/x-www-form-urlencoded")
        .await
        .unwrap();
    let status = res.status();
    assert_error(
        status,
        &res.json().await.unwrap(),
        415,
        "unsupported_media_type",
    );
    let res = post(r#"{"name": 5}"#, "application/json").await.unwrap();
    let status = res.status();
    assert_error(status, &res.json().await.unwrap(), 400, "validation_failed");

    let (status, body) = app.browser_call(Method::GET, "/api/v1/nope", None).await;
    assert_error(status, &body, 404, "route_not_found");
    let (status, body) = app
        .browser_call(Method::GET, "/api/v1/sessions/not-a-uuid", None)
        .await;
    assert_error(status, &body, 400, "invalid_path");
    let (status, body) = app
        .browser_call(Method::GET, "/totally/unknown", None)
        .await;
    assert_error(status, &body, 404, "route_not_found");
    let res = app
        .browser
        .get(app.url("/api/v1/sessions"))
        .header("x-org-id", "zzz")
        .send()
        .await
        .unwrap();
    let status = res.status();
    assert_error(status, &res.json().await.unwrap(), 400, "validation_failed");
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let mut app = spawn_app_with(Options {
        max_body_bytes: 1024,
        ..Options::default()
    })
    .await;
    app.dev_login().await;
    let big = serde_json::json!({ "name": "x".repeat(4096) });
    let (status, body) = app
        .browser_call(Method::POST, "/api/v1/sessions", Some(big))
        .await;
    assert_error(status, &body, 413, "payload_too_large");
    // GraphQL is held to the same limit, announced or streamed.
    let big_query = serde_json::json!({
        "query": "query ($x: String) { me { email } }",
        "variables": { "x": "x".repeat(4096) }
    });
    let (status, body) = app
        .browser_call(Method::POST, "/graphql", Some(big_query.clone()))
        .await;
    assert_error(status, &body, 413, "payload_too_large");
    let chunks: Vec<Result<String, std::io::Error>> = vec![Ok(big_query.to_string())];
    let res = app
        .browser
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    let status = res.status();
    assert_error(status, &res.json().await.unwrap(), 413, "payload_too_large");
    // Within the limit, a body that is not a GraphQL request is a clear 400.
    let res = app
        .browser
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let status = res.status();
    assert_error(status, &res.json().await.unwrap(), 400, "malformed_body");
}

#[tokio::test]
async fn rate_limited_callers_get_429_with_retry_after() {
    let app = spawn_app_with(Options {
        rate_per_second: 1,
        burst: 3,
        ..Options::default()
    })
    .await;
    let client = reqwest::Client::new();
    let mut limited = None;
    for _ in 0..10 {
        let res = client
            .get(app.url("/api/v1/auth/config"))
            .send()
            .await
            .unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(res);
            break;
        }
    }
    let res = limited.expect("no request was rate limited");
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    assert_error(
        StatusCode::TOO_MANY_REQUESTS,
        &res.json().await.unwrap(),
        429,
        "rate_limited",
    );
    // Health checks are never limited.
    assert_eq!(
        client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn responses_carry_a_request_id() {
    let app = spawn_app().await;
    let res = reqwest::get(app.url("/api/v1/auth/config")).await.unwrap();
    assert!(res
        .headers()
        .get("x-request-id")
        .is_some_and(|v| !v.is_empty()));
}

#[tokio::test]
async fn wrong_method_on_a_known_route_is_405_json() {
    let mut app = spawn_app().await;
    app.dev_login().await;
    let (status, body) = app
        .browser_call(Method::PUT, "/api/v1/sessions", None)
        .await;
    assert_error(status, &body, 405, "method_not_allowed");
}

#[tokio::test]
async fn made_up_credentials_do_not_get_fresh_rate_limit_buckets() {
    let app = spawn_app_with(Options {
        rate_per_second: 1,
        burst: 3,
        ..Options::default()
    })
    .await;
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for i in 0..10 {
        let res = client
            .get(app.url("/api/v1/sessions"))
            .bearer_auth(format!("rct_madeup{i}"))
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    assert!(
        statuses.contains(&429),
        "every made-up token got its own bucket: {statuses:?}"
    );
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_not_believed() {
    let mut app = spawn_app().await;
    app.dev_login().await;
    let res = app
        .browser
        .post(app.url("/api/v1/tokens"))
        .header("x-csrf-token", app.csrf.clone().unwrap())
        .header("x-forwarded-for", "6.6.6.6")
        .json(&serde_json::json!({ "name": "t", "scopes": ["read"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let ip: Option<String> =
        sqlx::query_scalar("SELECT ip FROM audit_logs WHERE action = 'token.create'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(ip.as_deref(), Some("127.0.0.1"));
}
