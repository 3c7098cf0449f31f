//! Authorization of the live-session endpoints that need no sandbox to be checked: the queue,
//! session controls and approval decisions (their effects on a real sandbox are tested in
//! `tests/live`). Another organisation and a member on someone else's session get 404 (the
//! session does not exist for them); a viewer gets 403 on changes.

use crate::helpers::{assert_error, spawn_app, TestApp};
use rc_auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

struct Fixture {
    app: TestApp,
    org: Uuid,
    owner: String,
    session: Uuid,
}

async fn fixture() -> Fixture {
    let app = spawn_app().await;
    let org = Uuid::now_v7();
    sqlx::query("INSERT INTO organizations (id, name, slug) VALUES ($1, 'Acme', $2)")
        .bind(org)
        .bind(format!("acme-{}", org.simple()))
        .execute(&app.db.pool)
        .await
        .unwrap();
    let (_, owner) = app.user_with_role(org, Role::Owner).await;
    let session = app.create_session(&owner, "controls").await;
    let session = session["id"].as_str().unwrap().parse().unwrap();
    Fixture {
        app,
        org,
        owner,
        session,
    }
}

/// (method, path, body) of every endpoint under test for `session`.
fn changes(session: Uuid, approval: Uuid) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (
            Method::PUT,
            format!("/api/v1/sessions/{session}/queue"),
            Some(json!({"task_ids": []})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/sessions/{session}"),
            Some(json!({"model": "claude-haiku-4-5"})),
        ),
        (
            Method::POST,
            format!("/api/v1/sessions/{session}/clear"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/sessions/{session}/restart"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/approvals/{approval}/decision"),
            Some(json!({"decision": "allow"})),
        ),
    ]
}

async fn insert_approval(f: &Fixture, tool: &str, input: Value) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO approvals (id, org_id, session_id, request_id, tool_name, input, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, now() + interval '10 minutes')",
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

#[tokio::test]
async fn only_the_owner_and_admins_change_a_session_and_strangers_see_nothing() {
    let f = fixture().await;
    let approval = insert_approval(&f, "Bash", json!({"command": "ls"})).await;
    let (_, other_org) = f.app.other_org().await;
    let (_, member) = f.app.user_with_role(f.org, Role::Member).await;
    let (_, viewer) = f.app.user_with_role(f.org, Role::Viewer).await;
    for (method, path, body) in changes(f.session, approval) {
        for token in [&other_org, &member] {
            let (status, err) = f
                .app
                .token_call(token, method.clone(), &path, body.clone())
                .await;
            assert_error(status, &err, 404, "not_found");
        }
        let (status, err) = f
            .app
            .token_call(&viewer, method.clone(), &path, body.clone())
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {err}");
    }
    // Reads: viewers see the queue; strangers do not.
    let queue = format!("/api/v1/sessions/{}/queue", f.session);
    let (status, _) = f.app.token_call(&viewer, Method::GET, &queue, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = f
        .app
        .token_call(&other_org, Method::GET, &queue, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Nothing changed on the way.
    let model: String = sqlx::query_scalar("SELECT model FROM sessions WHERE id = $1")
        .bind(f.session)
        .fetch_one(&f.app.db.pool)
        .await
        .unwrap();
    assert_ne!(model, "claude-haiku-4-5");
    let state: String = sqlx::query_scalar("SELECT state::text FROM approvals WHERE id = $1")
        .bind(approval)
        .fetch_one(&f.app.db.pool)
        .await
        .unwrap();
    assert_eq!(state, "pending");
}

#[tokio::test]
async fn settings_are_validated_and_actions_need_a_running_session() {
    let f = fixture().await;
    let path = format!("/api/v1/sessions/{}", f.session);
    for (body, field) in [
        (json!({}), "model"),
        (json!({"model": "not a model!"}), "model"),
        (json!({"permission_mode": "yolo"}), "permission_mode"),
    ] {
        let (status, err) = f
            .app
            .token_call(&f.owner, Method::PATCH, &path, Some(body))
            .await;
        assert_error(status, &err, 400, "validation_failed");
        assert_eq!(err["error"]["field"], field);
    }
    let (status, err) = f
        .app
        .token_call(&f.owner, Method::PATCH, &path, Some(json!({"unknown": 1})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    // The settings of a session that is not running yet change for its start.
    let (status, session) = f
        .app
        .token_call(
            &f.owner,
            Method::PATCH,
            &path,
            Some(json!({"permission_mode": "acceptEdits"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["permission_mode"], "acceptEdits");
    // Clear and restart need a running sandbox (this one is still pending).
    for action in ["clear", "restart"] {
        let (status, err) = f
            .app
            .token_call(&f.owner, Method::POST, &format!("{path}/{action}"), None)
            .await;
        assert_error(status, &err, 409, "conflict");
    }
    assert!(f
        .app
        .audit_actions()
        .await
        .contains(&"session.update".to_owned()));
}

#[tokio::test]
async fn always_for_the_organization_needs_admin_rights_and_adds_the_exact_command() {
    let f = fixture().await;
    let (_, member) = f.app.user_with_role(f.org, Role::Member).await;
    // The member's own session, so only the org scope is what they lack.
    let own = f.app.create_session(&member, "mine").await;
    let own: Uuid = own["id"].as_str().unwrap().parse().unwrap();
    let approval = {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO approvals (id, org_id, session_id, request_id, tool_name, input, expires_at)
             VALUES ($1, $2, $3, 'r1', 'Bash', $4, now() + interval '10 minutes')",
        )
        .bind(id)
        .bind(f.org)
        .bind(own)
        .bind(json!({"command": "npm test"}))
        .execute(&f.app.db.pool)
        .await
        .unwrap();
        id
    };
    let decide = |token: String, body: Value| {
        let app = &f.app;
        async move {
            app.token_call(
                &token,
                Method::POST,
                &format!("/api/v1/approvals/{approval}/decision"),
                Some(body),
            )
            .await
        }
    };
    let (status, err) = decide(
        member.clone(),
        json!({"decision": "always", "scope": "organization"}),
    )
    .await;
    assert_error(status, &err, 403, "forbidden");
    let (status, err) = decide(
        member.clone(),
        json!({"decision": "allow", "scope": "session"}),
    )
    .await;
    assert_error(status, &err, 400, "validation_failed");
    assert_eq!(err["error"]["field"], "scope");
    // The owner (an admin of the organisation) may.
    let (status, decided) = decide(
        f.owner.clone(),
        json!({"decision": "always", "scope": "organization"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    assert_eq!(decided["decision"], "always");
    let policy: Value = sqlx::query_scalar("SELECT policy FROM organizations WHERE id = $1")
        .bind(f.org)
        .fetch_one(&f.app.db.pool)
        .await
        .unwrap();
    let allowed: Vec<&str> = policy["allowed_tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(allowed.contains(&"Bash(npm test)"), "{allowed:?}");
    assert!(!allowed.contains(&"Bash"), "never a blanket Bash rule");
    let actions = f.app.audit_actions().await;
    assert!(actions.contains(&"org.policy.allow_tool".to_owned()));
    assert!(actions.contains(&"approval.decide".to_owned()));
}
