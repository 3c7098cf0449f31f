use crate::helpers::{assert_error, spawn_app};
use rc_auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn tasks_queue_in_order_cancel_and_refuse_on_stopped_sessions() {
    let mut app = spawn_app().await;
    app.dev_login().await;
    let (_, s) = app
        .browser_call(
            Method::POST,
            "/api/v1/sessions",
            Some(json!({ "name": "x" })),
        )
        .await;
    let sid = s["id"].as_str().unwrap();
    let mut tasks = Vec::new();
    for p in ["first", "second", "third"] {
        let (status, t) = app
            .browser_call(
                Method::POST,
                &format!("/api/v1/sessions/{sid}/tasks"),
                Some(json!({ "prompt": p })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{t}");
        assert_eq!(t["state"], "queued");
        tasks.push(t);
    }
    let positions: Vec<i64> = tasks
        .iter()
        .map(|t| t["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, [1, 2, 3]);

    let tid = tasks[1]["id"].as_str().unwrap();
    let (status, cancelled) = app
        .browser_call(Method::POST, &format!("/api/v1/tasks/{tid}/cancel"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cancelled["state"], "cancelled");
    let (status, err) = app
        .browser_call(Method::POST, &format!("/api/v1/tasks/{tid}/cancel"), None)
        .await;
    assert_error(status, &err, 409, "conflict");

    let (_, list) = app
        .browser_call(Method::GET, &format!("/api/v1/sessions/{sid}/tasks"), None)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3);

    let msgs = app.drain_session_manager_queue().await;
    let kinds: Vec<String> = msgs
        .iter()
        .map(|m| {
            m.get("event")
                .or(m.get("command"))
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(kinds, ["create", "queued", "queued", "queued", "cancel"]);

    let (status, err) = app
        .browser_call(
            Method::POST,
            &format!("/api/v1/sessions/{sid}/tasks"),
            Some(json!({ "prompt": "  " })),
        )
        .await;
    assert_error(status, &err, 400, "validation_failed");
    assert_eq!(err["error"]["field"], "prompt");

    app.browser_call(Method::POST, &format!("/api/v1/sessions/{sid}/stop"), None)
        .await;
    let (status, err) = app
        .browser_call(
            Method::POST,
            &format!("/api/v1/sessions/{sid}/tasks"),
            Some(json!({ "prompt": "late" })),
        )
        .await;
    assert_error(status, &err, 409, "conflict");
    let actions = app.audit_actions().await;
    assert_eq!(actions.iter().filter(|a| *a == "task.create").count(), 3);
    assert_eq!(actions.iter().filter(|a| *a == "task.cancel").count(), 1);
}

#[tokio::test]
async fn tasks_follow_session_visibility() {
    let mut app = spawn_app().await;
    let owner = app.dev_login().await;
    let org = app.org_of(owner).await;
    let (_, alice) = app.user_with_role(org, Role::Member).await;
    let (_, bob) = app.user_with_role(org, Role::Member).await;
    let (_, viewer) = app.user_with_role(org, Role::Viewer).await;
    let (_, stranger) = app.other_org().await;
    let s = app.create_session(&alice, "a").await;
    let sid = s["id"].as_str().unwrap();
    let (_, t) = app
        .token_call(
            &alice,
            Method::POST,
            &format!("/api/v1/sessions/{sid}/tasks"),
            Some(json!({ "prompt": "hi" })),
        )
        .await;
    let tid = t["id"].as_str().unwrap();
    for token in [&bob, &stranger] {
        let (status, err) = app
            .token_call(token, Method::GET, &format!("/api/v1/tasks/{tid}"), None)
            .await;
        assert_error(status, &err, 404, "not_found");
        let (status, err) = app
            .token_call(
                token,
                Method::POST,
                &format!("/api/v1/sessions/{sid}/tasks"),
                Some(json!({ "prompt": "x" })),
            )
            .await;
        assert_error(status, &err, 404, "not_found");
    }
    let (status, _) = app
        .token_call(&viewer, Method::GET, &format!("/api/v1/tasks/{tid}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, err) = app
        .token_call(
            &viewer,
            Method::POST,
            &format!("/api/v1/tasks/{tid}/cancel"),
            None,
        )
        .await;
    assert_error(status, &err, 403, "forbidden");
}
