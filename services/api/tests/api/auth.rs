use crate::helpers::{assert_error, spawn_app, PUBLIC_URL};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn health_ready_and_metrics_answer() {
    let app = spawn_app().await;
    let res = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = reqwest::get(app.url("/readyz")).await.unwrap();
    let status = res.status();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    for dep in ["postgres", "redis", "rabbitmq"] {
        assert_eq!(body["checks"][dep]["status"], "ok", "{body}");
    }
    let metrics = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("rc_http_requests_total"), "{metrics}");
    assert!(
        metrics.contains("route=\"/readyz\""),
        "route template label missing: {metrics}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn first_dev_login_becomes_owner_of_default_org_and_me_works() {
    let mut app = spawn_app().await;
    let (status, body) = app.browser_call(Method::GET, "/api/v1/me", None).await;
    assert_error(status, &body, 401, "unauthenticated");

    let user = app.dev_login().await;
    let (status, me) = app.browser_call(Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["user"]["id"], user.to_string());
    assert_eq!(me["organizations"][0]["role"], "owner");
    assert_eq!(me["organizations"][0]["name"], "Default");
    assert_eq!(me["csrf_token"].as_str(), app.csrf.as_deref());
    assert!(app.audit_actions().await.contains(&"auth.login".to_owned()));
}

#[tokio::test]
async fn session_cookie_is_httponly_and_samesite_lax() {
    let app = spawn_app().await;
    let res = app
        .browser
        .post(app.url("/api/v1/auth/dev-login"))
        .send()
        .await
        .unwrap();
    let cookies: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("rc_session="))
        .expect("session cookie");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Lax"), "{session}");
    // Plain-http public URL in the dev profile: no Secure attribute (browsers would drop it).
    assert!(!session.contains("Secure"), "{session}");
}

#[tokio::test]
async fn cookie_mutations_need_csrf_token_and_allowed_origin() {
    let mut app = spawn_app().await;
    app.dev_login().await;
    let body = json!({ "name": "s1" });
    let res = app
        .browser
        .post(app.url("/api/v1/sessions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    assert_error(status, &res.json().await.unwrap(), 403, "csrf_rejected");

    let res = app
        .browser
        .post(app.url("/api/v1/sessions"))
        .header("x-csrf-token", app.csrf.clone().unwrap())
        .header("origin", "https://evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    assert_error(status, &res.json().await.unwrap(), 403, "csrf_rejected");

    let res = app
        .browser
        .post(app.url("/api/v1/sessions"))
        .header("x-csrf-token", app.csrf.clone().unwrap())
        .header("origin", PUBLIC_URL)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn logout_revokes_the_login_session() {
    let mut app = spawn_app().await;
    app.dev_login().await;
    let stolen_cookie = app
        .browser
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(stolen_cookie, StatusCode::OK);
    let (status, _) = app
        .browser_call(Method::POST, "/api/v1/auth/logout", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app.browser_call(Method::GET, "/api/v1/me", None).await;
    assert_error(status, &body, 401, "unauthenticated");
    let actions = app.audit_actions().await;
    assert!(actions.contains(&"auth.logout".to_owned()), "{actions:?}");
}

#[tokio::test]
async fn revoked_session_id_is_useless_even_if_replayed() {
    let mut app = spawn_app().await;
    app.dev_login().await;
    let sid = app.new_session_id().await;
    let raw = reqwest::Client::new();
    let ok = raw
        .get(app.url("/api/v1/me"))
        .header("cookie", format!("rc_session={sid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let csrf: serde_json::Value = ok.json().await.unwrap();
    let res = raw
        .post(app.url("/api/v1/auth/logout"))
        .header("cookie", format!("rc_session={sid}"))
        .header("x-csrf-token", csrf["csrf_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let replay = raw
        .get(app.url("/api/v1/me"))
        .header("cookie", format!("rc_session={sid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn dev_login_is_refused_in_production_profile() {
    let mut app = spawn_app().await;
    // Rebuild with the prod profile on the same database.
    app.settings.profile = rc_config::Profile::Prod;
    let prod = api::startup::Application::build(app.settings.clone())
        .await
        .unwrap();
    let url = format!("http://127.0.0.1:{}/api/v1/auth/dev-login", prod.port());
    let server = tokio::spawn(prod.run_until_stopped(std::future::pending()));
    let res = reqwest::Client::new().post(url).send().await.unwrap();
    let status = res.status();
    assert_error(status, &res.json().await.unwrap(), 403, "feature_disabled");
    server.abort();
    let config: serde_json::Value = reqwest::get(app.url("/api/v1/auth/config"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["dev_login"], true);
    app.dev_login().await;
}

#[tokio::test]
async fn graceful_shutdown_finishes_and_returns() {
    let app = spawn_app().await;
    assert_eq!(
        reqwest::get(app.url("/healthz")).await.unwrap().status(),
        StatusCode::OK
    );
    let address = app.url("/healthz");
    app.shutdown().await;
    assert!(
        reqwest::get(address).await.is_err(),
        "server still answers after shutdown"
    );
}
