//! The live event pipeline from the api's side: events are written the way session-manager
//! writes them (committed to `session_events`, then appended to the session's Redis Stream)
//! and read back over REST, the WebSocket and the GraphQL subscription. The real CLI and
//! sandbox side are exercised in `tests/live`.

use crate::helpers::{assert_error, spawn_app, TestApp};
use futures::{SinkExt as _, StreamExt as _};
use rc_auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long a test waits for one expected frame before failing.
const FRAME_WAIT: Duration = Duration::from_secs(15);

/// The text delta every helper writes for `seq` (so a frame's payload can be checked).
fn delta(seq: i64) -> rc_events::EventBody {
    rc_events::EventBody::TextDelta {
        message_id: Some("msg_1".into()),
        index: 0,
        text: format!("chunk {seq}\n"),
        parent_tool_use_id: None,
    }
}

/// Writes events `from..=to` of a session like session-manager does: commit, then (unless
/// `publish` is false, simulating a lost publish) append them to the live stream.
async fn write_events(app: &TestApp, session: Uuid, from: i64, to: i64, publish: bool) {
    let org: Uuid = sqlx::query_scalar("SELECT org_id FROM sessions WHERE id = $1")
        .bind(session)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let mut written = Vec::new();
    for seq in from..=to {
        let body = delta(seq);
        let at: chrono::DateTime<chrono::Utc> = sqlx::query_scalar(
            "INSERT INTO session_events (org_id, session_id, seq, kind, payload) VALUES ($1, $2, $3, $4, $5) RETURNING created_at",
        )
        .bind(org)
        .bind(session)
        .bind(seq)
        .bind(body.kind())
        .bind(body.to_payload().unwrap())
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        written.push(rc_events::SessionEvent::new(seq, None, at, body));
    }
    if publish {
        publish_events(app, session, &written).await;
    }
}

/// Appends events `from..=to` to the live stream only, as session-manager does with
/// display-only events before their batch commits.
async fn publish_early(app: &TestApp, session: Uuid, from: i64, to: i64) {
    let events: Vec<_> = (from..=to)
        .map(|seq| rc_events::SessionEvent::new(seq, None, chrono::Utc::now(), delta(seq)))
        .collect();
    publish_events(app, session, &events).await;
}

async fn publish_events(app: &TestApp, session: Uuid, events: &[rc_events::SessionEvent]) {
    let redis = rc_runtime::checks::redis_pool(app.settings.redis.url.expose(), 1).unwrap();
    let mut conn = redis.get().await.unwrap();
    let key = rc_domain::live::stream_key(&app.settings.redis.key_prefix, session);
    rc_domain::live::publish(&mut conn, &key, events)
        .await
        .unwrap();
}

async fn connect(app: &TestApp, path: &str, token: &str) -> Socket {
    let url = format!("{}{path}", app.address.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.status(), 101);
    socket
}

/// The next `n` event frames' sequence numbers (fails on anything else or on a timeout).
async fn next_seqs(socket: &mut Socket, n: usize) -> Vec<i64> {
    let mut seqs = Vec::new();
    while seqs.len() < n {
        let frame = tokio::time::timeout(FRAME_WAIT, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no frame within {FRAME_WAIT:?}; got {seqs:?}"))
            .expect("socket open")
            .unwrap();
        let Message::Text(text) = frame else {
            continue;
        };
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["type"], "event", "{v}");
        assert_eq!(v["event"]["kind"], "text_delta");
        assert_eq!(
            v["event"]["text"],
            format!("chunk {}\n", v["event"]["seq"]),
            "payload matches its seq"
        );
        seqs.push(v["event"]["seq"].as_i64().unwrap());
    }
    seqs
}

fn range(from: i64, to: i64) -> Vec<i64> {
    (from..=to).collect()
}

async fn owner_session(app: &TestApp) -> (Uuid, String, Uuid) {
    let org = Uuid::now_v7();
    sqlx::query("INSERT INTO organizations (id, name, slug) VALUES ($1, 'Acme', $2)")
        .bind(org)
        .bind(format!("acme-{}", org.simple()))
        .execute(&app.db.pool)
        .await
        .unwrap();
    let (_, token) = app.user_with_role(org, Role::Owner).await;
    let session = app.create_session(&token, "live").await;
    (org, token, session["id"].as_str().unwrap().parse().unwrap())
}

#[tokio::test]
async fn history_pages_in_order_and_validates_its_parameters() {
    let app = spawn_app().await;
    let (_, token, session) = owner_session(&app).await;
    write_events(&app, session, 1, 30, false).await;
    let (status, page) = app
        .token_call(
            &token,
            Method::GET,
            &format!("/api/v1/sessions/{session}/events?after_seq=10&limit=5"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let seqs: Vec<i64> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, range(11, 15));
    assert_eq!(page[0]["kind"], "text_delta");
    assert_eq!(page[0]["text"], "chunk 11\n");
    assert!(page[0]["at"].is_string());

    let (status, err) = app
        .token_call(
            &token,
            Method::GET,
            &format!("/api/v1/sessions/{session}/events?limit=5000"),
            None,
        )
        .await;
    assert_error(status, &err, 400, "validation_failed");
    assert_eq!(err["error"]["field"], "limit");
    let (status, err) = app
        .token_call(
            &token,
            Method::GET,
            &format!("/api/v1/sessions/{session}/events?after_seq=-1"),
            None,
        )
        .await;
    assert_error(status, &err, 400, "validation_failed");
    assert_eq!(err["error"]["field"], "after_seq");
}

#[tokio::test]
async fn websocket_replays_then_follows_and_resumes_exactly_after_a_drop() {
    let app = spawn_app().await;
    let (_, token, session) = owner_session(&app).await;
    write_events(&app, session, 1, 5, true).await;

    let path = format!("/api/v1/sessions/{session}/events?after_seq=0");
    let mut socket = connect(&app, &path, &token).await;
    assert_eq!(
        next_seqs(&mut socket, 5).await,
        range(1, 5),
        "history first"
    );
    write_events(&app, session, 6, 8, true).await;
    assert_eq!(next_seqs(&mut socket, 3).await, range(6, 8), "then live");

    // Drop mid-stream; events keep coming while nobody listens.
    drop(socket);
    write_events(&app, session, 9, 12, true).await;
    let mut socket = connect(
        &app,
        &format!("/api/v1/sessions/{session}/events?after_seq=8"),
        &token,
    )
    .await;
    write_events(&app, session, 13, 14, true).await;
    assert_eq!(
        next_seqs(&mut socket, 6).await,
        range(9, 14),
        "exactly the missing ones, then live, none doubled"
    );
    // Nothing further is pending: a ping round-trips before any other frame.
    socket.send(Message::Ping(vec![7].into())).await.unwrap();
    let frame = tokio::time::timeout(FRAME_WAIT, socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(frame, Message::Pong(_)), "{frame:?}");
}

#[tokio::test]
async fn a_lost_publish_is_filled_from_postgres() {
    let app = spawn_app().await;
    let (_, token, session) = owner_session(&app).await;
    let mut socket = connect(&app, &format!("/api/v1/sessions/{session}/events"), &token).await;
    write_events(&app, session, 1, 2, true).await;
    assert_eq!(next_seqs(&mut socket, 2).await, range(1, 2));
    // 3-5 committed but never reached Redis; 6 did: the gap is noticed and filled.
    write_events(&app, session, 3, 5, false).await;
    write_events(&app, session, 6, 6, true).await;
    assert_eq!(next_seqs(&mut socket, 4).await, range(3, 6));
}

#[tokio::test]
async fn events_published_before_their_commit_reach_watchers_and_late_joiners() {
    let app = spawn_app().await;
    let (_, token, session) = owner_session(&app).await;
    write_events(&app, session, 1, 2, true).await;
    let mut watcher = connect(&app, &format!("/api/v1/sessions/{session}/events"), &token).await;
    assert_eq!(next_seqs(&mut watcher, 2).await, range(1, 2));
    // 3-5 are in the stream but their batch has not committed yet.
    publish_early(&app, session, 3, 5).await;
    assert_eq!(
        next_seqs(&mut watcher, 3).await,
        range(3, 5),
        "live, before the commit"
    );
    // A client joining now gets 1-2 from Postgres and 3-5 from the stream.
    let mut late = connect(&app, &format!("/api/v1/sessions/{session}/events"), &token).await;
    assert_eq!(next_seqs(&mut late, 5).await, range(1, 5));
    let (status, history) = app
        .token_call(
            &token,
            Method::GET,
            &format!("/api/v1/sessions/{session}/events"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        history.as_array().unwrap().len(),
        2,
        "history is what committed"
    );
    // The batch commits and the next one is published: nobody gets anything twice.
    write_events(&app, session, 3, 5, false).await;
    write_events(&app, session, 6, 7, true).await;
    assert_eq!(next_seqs(&mut watcher, 2).await, range(6, 7));
    assert_eq!(next_seqs(&mut late, 2).await, range(6, 7));
}

#[tokio::test]
async fn resuming_works_across_an_api_restart() {
    let mut app = spawn_app().await;
    let (_, token, session) = owner_session(&app).await;
    write_events(&app, session, 1, 3, true).await;
    let mut socket = connect(&app, &format!("/api/v1/sessions/{session}/events"), &token).await;
    assert_eq!(next_seqs(&mut socket, 3).await, range(1, 3));
    // A graceful stop closes the feed (rather than waiting on it) …
    app.restart().await;
    let closed = tokio::time::timeout(FRAME_WAIT, async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                _ => break None,
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(closed, Some(1012), "closed with 'service restart'");
    write_events(&app, session, 4, 6, true).await;
    // … and the new process resumes exactly.
    let mut socket = connect(
        &app,
        &format!("/api/v1/sessions/{session}/events?after_seq=3"),
        &token,
    )
    .await;
    write_events(&app, session, 7, 7, true).await;
    assert_eq!(next_seqs(&mut socket, 4).await, range(4, 7));
}

#[tokio::test]
async fn twenty_watchers_share_one_reader_and_each_get_everything() {
    let app = spawn_app().await;
    let (_, token, session) = owner_session(&app).await;
    let mut sockets = Vec::new();
    for _ in 0..20 {
        sockets.push(connect(&app, &format!("/api/v1/sessions/{session}/events"), &token).await);
    }
    write_events(&app, session, 1, 50, true).await;
    for socket in &mut sockets {
        assert_eq!(next_seqs(socket, 50).await, range(1, 50));
    }
}

#[tokio::test]
async fn graphql_subscription_delivers_the_same_sequence() {
    let app = spawn_app().await;
    let (_, token, session) = owner_session(&app).await;
    write_events(&app, session, 1, 4, true).await;
    let url = format!("{}/graphql/ws", app.address.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    headers.insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let send = |v: Value| Message::Text(v.to_string().into());
    socket
        .send(send(json!({"type": "connection_init"})))
        .await
        .unwrap();
    socket
        .send(send(json!({
            "id": "1", "type": "subscribe",
            "payload": {"query": "subscription($s: UUID!) { sessionEvents(sessionId: $s, afterSeq: 2) { seq kind event } }",
                        "variables": {"s": session}}
        })))
        .await
        .unwrap();
    let mut seqs = Vec::new();
    while seqs.len() < 3 {
        if seqs.len() == 2 {
            write_events(&app, session, 5, 5, true).await;
        }
        let frame = tokio::time::timeout(FRAME_WAIT, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no frame; got {seqs:?}"))
            .unwrap()
            .unwrap();
        let Message::Text(text) = frame else { continue };
        let v: Value = serde_json::from_str(&text).unwrap();
        match v["type"].as_str() {
            Some("connection_ack") | Some("ping") => continue,
            Some("next") => {
                let e = &v["payload"]["data"]["sessionEvents"];
                assert_eq!(e["kind"], "text_delta");
                assert_eq!(e["event"]["seq"], e["seq"], "flat event carries its seq");
                seqs.push(e["seq"].as_i64().unwrap());
            }
            _ => panic!("unexpected frame {v}"),
        }
    }
    assert_eq!(seqs, range(3, 5));
}

#[tokio::test]
async fn only_those_who_may_see_the_session_can_follow_it() {
    let app = spawn_app().await;
    let (org, _, session) = owner_session(&app).await;
    let (_, other_org_token) = app.other_org().await;
    let (_, member) = app.user_with_role(org, Role::Member).await;
    let (_, viewer) = app.user_with_role(org, Role::Viewer).await;
    let (_, admin) = app.user_with_role(org, Role::Admin).await;
    let path = format!("/api/v1/sessions/{session}/events");
    let ws_status = |token: String| {
        let url = format!("{}{path}", app.address.replace("http://", "ws://"));
        async move {
            let mut request = url.into_client_request().unwrap();
            request
                .headers_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
            match tokio_tungstenite::connect_async(request).await {
                Ok((_, response)) => response.status().as_u16(),
                Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                    response.status().as_u16()
                }
                Err(err) => panic!("{err}"),
            }
        }
    };
    // Another organisation, and a member on someone else's session: not found, over both
    // transports.
    for token in [&other_org_token, &member] {
        assert_eq!(ws_status(token.clone()).await, 404);
        let (status, err) = app.token_call(token, Method::GET, &path, None).await;
        assert_error(status, &err, 404, "not_found");
    }
    // Viewers read everything in their organisation; admins too.
    for token in [&viewer, &admin] {
        assert_eq!(ws_status(token.clone()).await, 101);
        let (status, _) = app.token_call(token, Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK);
    }
    // No credential at all.
    let res = reqwest::get(app.url(&path)).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
