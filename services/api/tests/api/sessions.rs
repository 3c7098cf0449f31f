use crate::helpers::{assert_error, spawn_app};
use rc_auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn create_publishes_session_create_and_is_audited() {
    let mut app = spawn_app().await;
    let user = app.dev_login().await;
    let org = app.org_of(user).await;
    let (status, session) = app
        .browser_call(Method::POST, "/api/v1/sessions", Some(json!({ "name": "  my session ", "repository_url": "https://github.com/acme/app.git", "limits": { "memory_mb": 1024 } })))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    assert_eq!(session["name"], "my session");
    assert_eq!(session["state"], "pending");
    assert_eq!(session["limits"]["memory_mb"], 1024);
    assert_eq!(session["network_policy"], "none");
    let messages = app.drain_session_manager_queue().await;
    assert_eq!(
        messages,
        vec![
            json!({ "command": "create", "session_id": session["id"], "org_id": org.to_string() })
        ]
    );
    assert!(app
        .audit_actions()
        .await
        .contains(&"session.create".to_owned()));

    let (status, got) = app
        .browser_call(
            Method::GET,
            &format!("/api/v1/sessions/{}", session["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["id"], session["id"]);
}

#[tokio::test]
async fn bad_input_names_the_field() {
    let mut app = spawn_app().await;
    app.dev_login().await;
    let cases = [
        (json!({ "name": "" }), "name"),
        (
            json!({ "name": "x", "image": "evil/image:latest" }),
            "image",
        ),
        (
            json!({ "name": "x", "repository_url": "not a url" }),
            "repository_url",
        ),
        (
            json!({ "name": "x", "limits": { "memory_mb": 999999 } }),
            "limits.memory_mb",
        ),
        (
            json!({ "name": "x", "limits": { "cpu_millis": 1 } }),
            "limits.cpu_millis",
        ),
        (
            json!({ "name": "x", "permission_mode": "yolo" }),
            "permission_mode",
        ),
        (
            json!({ "name": "x", "network_policy": "open" }),
            "network_policy",
        ),
        (json!({ "name": "x", "model": "bad model!" }), "model"),
        (json!({ "name": "x", "surprise": 1 }), "surprise"),
        (json!({}), "name"),
    ];
    for (body, field) in cases {
        let (status, err) = app
            .browser_call(Method::POST, "/api/v1/sessions", Some(body.clone()))
            .await;
        assert_error(status, &err, 400, "validation_failed");
        assert_eq!(err["error"]["field"], field, "{body} → {err}");
    }
    assert!(
        app.drain_session_manager_queue().await.is_empty(),
        "a rejected create published a command"
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn list_paginates_with_cursor_and_filters_by_state() {
    let mut app = spawn_app().await;
    let user = app.dev_login().await;
    let org = app.org_of(user).await;
    sqlx::query("UPDATE organizations SET policy = jsonb_set(policy, '{max_sessions_per_user}', '10') WHERE id = $1").bind(org).execute(&app.db.pool).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        let (_, s) = app
            .browser_call(
                Method::POST,
                "/api/v1/sessions",
                Some(json!({ "name": format!("s{i}") })),
            )
            .await;
        ids.push(s["id"].as_str().unwrap().to_owned());
    }
    let (_, page1) = app
        .browser_call(Method::GET, "/api/v1/sessions?limit=2", None)
        .await;
    assert_eq!(page1["items"].as_array().unwrap().len(), 2);
    assert_eq!(page1["items"][0]["id"], ids[4], "newest first");
    let cursor = page1["next_cursor"].as_str().unwrap();
    let (_, page2) = app
        .browser_call(
            Method::GET,
            &format!("/api/v1/sessions?limit=2&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(page2["items"][0]["id"], ids[2]);
    let (_, page3) = app
        .browser_call(
            Method::GET,
            &format!(
                "/api/v1/sessions?limit=2&cursor={}",
                page2["next_cursor"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(page3["items"].as_array().unwrap().len(), 1);
    assert!(page3["next_cursor"].is_null());

    app.browser_call(
        Method::POST,
        &format!("/api/v1/sessions/{}/stop", ids[0]),
        None,
    )
    .await;
    let (_, stopping) = app
        .browser_call(Method::GET, "/api/v1/sessions?state=stopping", None)
        .await;
    assert_eq!(stopping["items"].as_array().unwrap().len(), 1);
    assert_eq!(stopping["items"][0]["id"], ids[0]);

    let (status, err) = app
        .browser_call(Method::GET, "/api/v1/sessions?cursor=garbage", None)
        .await;
    assert_error(status, &err, 400, "validation_failed");
    let (status, err) = app
        .browser_call(Method::GET, "/api/v1/sessions?limit=0", None)
        .await;
    assert_error(status, &err, 400, "validation_failed");
    let (status, err) = app
        .browser_call(Method::GET, "/api/v1/sessions?state=sleeping", None)
        .await;
    assert_error(status, &err, 400, "invalid_query");
}

#[tokio::test]
async fn stop_and_delete_publish_commands_and_delete_hides_the_session() {
    let mut app = spawn_app().await;
    app.dev_login().await;
    let (_, s) = app
        .browser_call(
            Method::POST,
            "/api/v1/sessions",
            Some(json!({ "name": "x" })),
        )
        .await;
    let id = s["id"].as_str().unwrap();
    let (status, stopped) = app
        .browser_call(Method::POST, &format!("/api/v1/sessions/{id}/stop"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stopped["state"], "stopping");
    let (status, _) = app
        .browser_call(Method::DELETE, &format!("/api/v1/sessions/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, err) = app
        .browser_call(Method::GET, &format!("/api/v1/sessions/{id}"), None)
        .await;
    assert_error(status, &err, 404, "not_found");
    let commands: Vec<String> = app
        .drain_session_manager_queue()
        .await
        .iter()
        .map(|m| m["command"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(commands, ["create", "stop", "delete"]);
    let actions = app.audit_actions().await;
    assert!(
        actions.ends_with(&[
            "session.create".into(),
            "session.stop".into(),
            "session.delete".into()
        ]),
        "{actions:?}"
    );
}

#[tokio::test]
async fn quota_per_user_answers_429_with_a_clear_message() {
    let mut app = spawn_app().await;
    let user = app.dev_login().await;
    let org = app.org_of(user).await;
    sqlx::query("UPDATE organizations SET policy = jsonb_set(policy, '{max_sessions_per_user}', '2') WHERE id = $1").bind(org).execute(&app.db.pool).await.unwrap();
    for i in 0..2 {
        let (status, _) = app
            .browser_call(
                Method::POST,
                "/api/v1/sessions",
                Some(json!({ "name": format!("s{i}") })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, err) = app
        .browser_call(
            Method::POST,
            "/api/v1/sessions",
            Some(json!({ "name": "third" })),
        )
        .await;
    assert_error(status, &err, 429, "quota_exceeded");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("maximum per user"),
        "{err}"
    );
}

#[tokio::test]
async fn rbac_members_own_sessions_admins_all_viewers_read_only_other_orgs_invisible() {
    let mut app = spawn_app().await;
    let owner = app.dev_login().await;
    let org = app.org_of(owner).await;
    let (_, alice) = app.user_with_role(org, Role::Member).await;
    let (_, bob) = app.user_with_role(org, Role::Member).await;
    let (_, admin) = app.user_with_role(org, Role::Admin).await;
    let (_, viewer) = app.user_with_role(org, Role::Viewer).await;
    let (_, stranger) = app.other_org().await;

    let alices = app.create_session(&alice, "alice's").await;
    let id = alices["id"].as_str().unwrap();
    let path = format!("/api/v1/sessions/{id}");

    // Bob (member) neither sees nor touches Alice's session: 404, not 403.
    let (status, err) = app.token_call(&bob, Method::GET, &path, None).await;
    assert_error(status, &err, 404, "not_found");
    let (status, err) = app
        .token_call(&bob, Method::POST, &format!("{path}/stop"), None)
        .await;
    assert_error(status, &err, 404, "not_found");
    let (_, list) = app
        .token_call(&bob, Method::GET, "/api/v1/sessions", None)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    // Another organisation's owner: 404.
    let (status, err) = app.token_call(&stranger, Method::GET, &path, None).await;
    assert_error(status, &err, 404, "not_found");
    let (status, err) = app.token_call(&stranger, Method::DELETE, &path, None).await;
    assert_error(status, &err, 404, "not_found");
    // Viewer: reads, cannot create or stop.
    let (status, _) = app.token_call(&viewer, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, err) = app
        .token_call(
            &viewer,
            Method::POST,
            "/api/v1/sessions",
            Some(json!({ "name": "v" })),
        )
        .await;
    assert_error(status, &err, 403, "forbidden");
    let (status, err) = app
        .token_call(&viewer, Method::POST, &format!("{path}/stop"), None)
        .await;
    assert_error(status, &err, 403, "forbidden");
    // Admin sees and acts on every session in the org.
    let (_, list) = app
        .token_call(&admin, Method::GET, "/api/v1/sessions", None)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (status, _) = app
        .token_call(&admin, Method::POST, &format!("{path}/stop"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    // An org header naming a foreign organisation is "not found" too.
    let res = app
        .browser
        .get(app.url("/api/v1/sessions"))
        .header("x-org-id", uuid::Uuid::now_v7().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn broker_down_means_503_and_nothing_half_made() {
    let mut app = spawn_app().await;
    app.dev_login().await;
    // Same app, but its bus points at a port where no broker listens.
    let mut settings = app.settings.clone();
    settings.amqp.url = rc_config::Secret::new("amqp://guest:guest@127.0.0.1:1/%2f");
    let broken = api::startup::Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", broken.port());
    let server = tokio::spawn(broken.run_until_stopped(std::future::pending()));
    let res = app
        .browser
        .post(format!("{base}/api/v1/sessions"))
        .header("x-csrf-token", app.csrf.clone().unwrap())
        .json(&json!({ "name": "x" }))
        .send()
        .await
        .unwrap();
    let status = res.status();
    assert_error(
        status,
        &res.json().await.unwrap(),
        503,
        "service_unavailable",
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(count, 0, "the failed create left a row behind");
    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    server.abort();
}

#[tokio::test]
async fn start_resumes_only_stopped_sessions_for_those_who_may_change_them() {
    let mut app = spawn_app().await;
    let owner = app.dev_login().await;
    let org = app.org_of(owner).await;
    let (_, bob) = app.user_with_role(org, Role::Member).await;
    let (_, viewer) = app.user_with_role(org, Role::Viewer).await;
    let (_, stranger) = app.other_org().await;
    let (_, s) = app
        .browser_call(
            Method::POST,
            "/api/v1/sessions",
            Some(json!({ "name": "x" })),
        )
        .await;
    let id = s["id"].as_str().unwrap().to_owned();
    let start = format!("/api/v1/sessions/{id}/start");
    // Still stopping (session-manager has not finished): 409 naming the state.
    app.browser_call(Method::POST, &format!("/api/v1/sessions/{id}/stop"), None)
        .await;
    let (status, err) = app.browser_call(Method::POST, &start, None).await;
    assert_error(status, &err, 409, "conflict");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("stopping"),
        "{err}"
    );
    // What session-manager records once the sandbox is gone.
    sqlx::query("UPDATE sessions SET state = 'stopped' WHERE id = $1::uuid")
        .bind(&id)
        .execute(&app.db.pool)
        .await
        .unwrap();
    for (who, code) in [(&bob, 404), (&stranger, 404), (&viewer, 403)] {
        let (status, err) = app.token_call(who, Method::POST, &start, None).await;
        assert_eq!(status.as_u16(), code, "{err}");
    }
    let (status, started) = app.browser_call(Method::POST, &start, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(started["state"], "pending");
    // Starting a session that is already starting is a no-op, not an error.
    let (status, again) = app.browser_call(Method::POST, &start, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["state"], "pending");
    let commands: Vec<String> = app
        .drain_session_manager_queue()
        .await
        .iter()
        .map(|m| m["command"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(commands, ["create", "stop", "start"]);
    assert!(app
        .audit_actions()
        .await
        .ends_with(&["session.start".into()]));
    // A failed session cannot be started: delete it and create another.
    sqlx::query("UPDATE sessions SET state = 'failed', state_reason = 'x' WHERE id = $1::uuid")
        .bind(&id)
        .execute(&app.db.pool)
        .await
        .unwrap();
    let (status, err) = app.browser_call(Method::POST, &start, None).await;
    assert_error(status, &err, 409, "conflict");
}
