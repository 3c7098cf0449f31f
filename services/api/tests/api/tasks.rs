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

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A 1x1 PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
const JPEG_START: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F'];

#[tokio::test]
async fn task_images_are_checked_stored_in_order_and_counted() {
    let mut app = spawn_app().await;
    let owner = app.dev_login().await;
    let org = app.org_of(owner).await;
    let (_, member) = app.user_with_role(org, Role::Member).await;
    let (_, viewer) = app.user_with_role(org, Role::Viewer).await;
    let s = app.create_session(&member, "img").await;
    let sid = s["id"].as_str().unwrap();
    let path = format!("/api/v1/sessions/{sid}/tasks");
    let post = |body: serde_json::Value| {
        let (app, member, path) = (&app, &member, &path);
        async move { app.token_call(member, Method::POST, path, Some(body)).await }
    };

    let (status, t) = post(json!({ "prompt": "look", "images": [
        { "media_type": "image/png", "data": PNG },
        { "media_type": "image/jpeg", "data": b64(JPEG_START) },
    ]}))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    assert_eq!(t["image_count"], 2);
    let tid = t["id"].as_str().unwrap().to_owned();
    let rows: Vec<(i32, String, Vec<u8>)> = sqlx::query_as(
        "SELECT position, media_type, data FROM task_images WHERE task_id = $1::uuid ORDER BY position",
    )
    .bind(&tid)
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].0, rows[0].1.as_str()), (0, "image/png"));
    assert!(rows[0].2.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert_eq!(
        (rows[1].0, rows[1].1.as_str(), &rows[1].2[..]),
        (1, "image/jpeg", JPEG_START)
    );
    let (_, got) = app
        .token_call(&member, Method::GET, &format!("/api/v1/tasks/{tid}"), None)
        .await;
    assert_eq!(got["image_count"], 2);
    let (_, plain) = post(json!({ "prompt": "no pictures" })).await;
    assert_eq!(plain["image_count"], 0);
    let (_, list) = app.token_call(&member, Method::GET, &path, None).await;
    let counts: Vec<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["image_count"].as_i64().unwrap())
        .collect();
    assert_eq!(counts, [0, 2]);

    let png = json!({ "media_type": "image/png", "data": PNG });
    for (body, field) in [
        (
            json!({ "prompt": "x", "images": [png, png, png, png, png] }),
            "images",
        ),
        (
            json!({ "prompt": "x", "images": [{ "media_type": "image/png", "data": "not base64!" }] }),
            "images[0].data",
        ),
        (
            json!({ "prompt": "x", "images": [png, { "media_type": "image/png", "data": b64(JPEG_START) }] }),
            "images[1].data",
        ),
        (
            json!({ "prompt": "x", "images": [{ "media_type": "image/bmp", "data": b64(b"BM\0\0") }] }),
            "images[0].media_type",
        ),
        (
            json!({ "prompt": "x", "images": [{ "media_type": "image/gif", "data": "" }] }),
            "images[0].data",
        ),
    ] {
        let (status, err) = post(body).await;
        assert_error(status, &err, 400, "validation_failed");
        assert_eq!(err["error"]["field"], field, "{err}");
    }
    // One image over 5 MiB; then two under it that exceed 5 MiB together.
    let mut big = b"GIF89a".to_vec();
    big.resize(5 * 1024 * 1024 + 1, 0);
    let (status, err) = post(
        json!({ "prompt": "x", "images": [{ "media_type": "image/gif", "data": b64(&big) }] }),
    )
    .await;
    assert_error(status, &err, 400, "validation_failed");
    assert_eq!(err["error"]["field"], "images[0].data", "{err}");
    big.truncate(2600 * 1024);
    let half = json!({ "media_type": "image/gif", "data": b64(&big) });
    let (status, err) = post(json!({ "prompt": "x", "images": [half, half] })).await;
    assert_error(status, &err, 400, "validation_failed");
    assert_eq!(err["error"]["field"], "images", "{err}");
    // Four images of 5 MiB in all fit the body limit.
    big.truncate(5 * 1024 * 1024 / 4);
    let quarter = json!({ "media_type": "image/gif", "data": b64(&big) });
    let (status, t) =
        post(json!({ "prompt": "x", "images": [quarter, quarter, quarter, quarter] })).await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    assert_eq!(t["image_count"], 4);
    // A body over the route's limit is a clear 413.
    let (status, err) =
        post(json!({ "prompt": "x".repeat(rc_domain::tasks::MAX_CREATE_BODY_BYTES) })).await;
    assert_error(status, &err, 413, "payload_too_large");

    let (status, err) = app
        .token_call(
            &viewer,
            Method::POST,
            &path,
            Some(json!({ "prompt": "x", "images": [png] })),
        )
        .await;
    assert_error(status, &err, 403, "forbidden");

    // GraphQL: the same use case.
    let gql = |query: &'static str, variables: serde_json::Value| {
        let (app, member) = (&app, &member);
        async move {
            let res = reqwest::Client::new()
                .post(app.url("/graphql"))
                .bearer_auth(member)
                .json(&json!({ "query": query, "variables": variables }))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            res.json::<serde_json::Value>().await.unwrap()
        }
    };
    const CREATE: &str = "mutation($s: UUID!, $i: CreateTask!) { createTask(sessionId: $s, input: $i) { id imageCount } }";
    let created = gql(CREATE, json!({ "s": sid, "i": { "prompt": "gql", "images": [{ "mediaType": "image/png", "data": PNG }] } })).await;
    assert!(created["errors"].is_null(), "{created}");
    assert_eq!(created["data"]["createTask"]["imageCount"], 1);
    let bad = gql(CREATE, json!({ "s": sid, "i": { "prompt": "gql", "images": [{ "mediaType": "image/webp", "data": PNG }] } })).await;
    assert_eq!(
        bad["errors"][0]["extensions"]["code"], "validation_failed",
        "{bad}"
    );
    assert_eq!(bad["errors"][0]["extensions"]["field"], "images[0].data");

    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM task_images")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 7, "rejected requests store nothing");
}
