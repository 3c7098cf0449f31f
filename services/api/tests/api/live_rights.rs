//! Long-lived connections lose what their caller loses: a WebSocket authorised when it opened
//! is checked again when this api changes somebody's rights, and periodically for changes made
//! elsewhere (`auth.live_recheck_secs`). What a client sends over it is authorised afresh.
//! (The terminal's case needs a real sandbox: `tests/live`.)

use crate::helpers::{next_json, spawn_app_with, Options, Socket, TestApp};
use futures::{SinkExt as _, StreamExt as _};
use rc_auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

/// How long a test waits for the server to act before failing.
const WAIT: std::time::Duration = crate::helpers::FRAME_WAIT;

/// An api whose open connections check again only when it changes rights itself: what a test
/// of the immediate path needs (the periodic check would also close them, later).
async fn without_periodic_checks() -> TestApp {
    spawn_app_with(Options {
        live_recheck_secs: 3600,
        ..Options::default()
    })
    .await
}

struct Org {
    app: TestApp,
    id: Uuid,
    owner: String,
}

async fn org_with(app: TestApp) -> Org {
    let (id, owner) = app.org_with_owner().await;
    Org { app, id, owner }
}

async fn session_of(org: &Org, token: &str) -> Uuid {
    let session = org.app.create_session(token, "watched").await;
    session["id"].as_str().unwrap().parse().unwrap()
}

async fn follow(app: &TestApp, session: Uuid, token: &str) -> Socket {
    app.ws(&format!("/api/v1/sessions/{session}/events"), token, None)
        .await
}

/// The text frames the server sends until it closes the socket, and the close code.
async fn until_closed(socket: &mut Socket) -> (Vec<Value>, Option<u16>) {
    let mut texts = Vec::new();
    let code = tokio::time::timeout(WAIT, async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => texts.push(serde_json::from_str(&text).unwrap()),
                Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                Some(Err(err)) => panic!("socket failed instead of closing: {err}"),
                None => break None,
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("still open after {WAIT:?}; frames so far: {texts:?}"));
    (texts, code)
}

fn assert_ended_with(texts: &[Value], code: Option<u16>, error: &str) {
    assert_eq!(
        code,
        Some(1008),
        "closed as a policy violation; frames {texts:?}"
    );
    let last = texts.last().expect("an error frame before the close");
    assert_eq!(last["type"], "error", "{last}");
    assert_eq!(last["error"]["code"], error, "{last}");
}

#[tokio::test]
async fn a_member_removed_while_following_is_disconnected_with_the_reason() {
    let org = org_with(without_periodic_checks().await).await;
    let (member_id, member) = org.app.user_with_role(org.id, Role::Member).await;
    let session = session_of(&org, &member).await;
    let mut feed = follow(&org.app, session, &member).await;
    let (status, body) = org
        .app
        .token_call(
            &org.owner,
            Method::DELETE,
            &format!("/api/v1/members/{member_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // At once (this instance made the change), not at the next periodic check (30 s).
    let (texts, code) = until_closed(&mut feed).await;
    assert_ended_with(&texts, code, "unauthenticated");
}

#[tokio::test]
async fn a_demoted_member_keeps_reading_but_can_no_longer_decide_over_the_socket() {
    let org = org_with(without_periodic_checks().await).await;
    let (member_id, member) = org.app.user_with_role(org.id, Role::Member).await;
    let session = session_of(&org, &member).await;
    let approval = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO approvals (id, org_id, session_id, request_id, tool_name, input, expires_at)
         VALUES ($1, $2, $3, 'req-1', 'Bash', '{\"command\": \"ls\"}', now() + interval '10 minutes')",
    )
    .bind(approval)
    .bind(org.id)
    .bind(session)
    .execute(&org.app.db.pool)
    .await
    .unwrap();
    let mut feed = follow(&org.app, session, &member).await;
    let (status, body) = org
        .app
        .token_call(
            &org.owner,
            Method::PATCH,
            &format!("/api/v1/members/{member_id}"),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A viewer still reads the session, so the feed stays open; deciding is no longer theirs.
    feed.send(Message::Text(
        json!({"type": "decide_approval", "approval_id": approval, "decision": "allow"})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    let reply = next_json(&mut feed).await;
    assert_eq!(reply["type"], "error", "{reply}");
    assert_eq!(reply["error"]["code"], "forbidden", "{reply}");
    assert_eq!(reply["approval_id"], json!(approval));
    let decided: Option<String> =
        sqlx::query_scalar("SELECT decision::text FROM approvals WHERE id = $1")
            .bind(approval)
            .fetch_one(&org.app.db.pool)
            .await
            .unwrap();
    assert_eq!(decided, None, "the approval is still undecided");
    // The socket is still open and answering.
    feed.send(Message::Text("{\"type\": \"nonsense\"}".into()))
        .await
        .unwrap();
    let reply = next_json(&mut feed).await;
    assert_eq!(reply["error"]["code"], "validation_failed", "{reply}");
}

#[tokio::test]
async fn a_revoked_token_ends_its_feed_its_subscription_and_its_graphql_operations() {
    let org = org_with(without_periodic_checks().await).await;
    let session = session_of(&org, &org.owner).await;
    let mut feed = follow(&org.app, session, &org.owner).await;
    let mut gql = org
        .app
        .ws("/graphql/ws", &org.owner, Some("graphql-transport-ws"))
        .await;
    let send = |v: Value| Message::Text(v.to_string().into());
    gql.send(send(json!({"type": "connection_init"})))
        .await
        .unwrap();
    assert_eq!(next_json(&mut gql).await["type"], "connection_ack");
    gql.send(send(json!({
        "id": "events", "type": "subscribe",
        "payload": {"query": "subscription($s: UUID!) { sessionEvents(sessionId: $s) { seq } }",
                    "variables": {"s": session}}
    })))
    .await
    .unwrap();
    // Before: an operation over the socket works.
    gql.send(send(
        json!({"id": "me-1", "type": "subscribe", "payload": {"query": "{ me { id } }"}}),
    ))
    .await
    .unwrap();
    let mut before = Vec::new();
    while !before.iter().any(|v: &Value| v["type"] == "complete") {
        before.push(next_json(&mut gql).await);
    }
    assert_eq!(before[0]["id"], "me-1", "{before:?}");
    assert!(
        before[0]["payload"]["data"]["me"]["id"].is_string(),
        "{before:?}"
    );

    // The token revokes itself.
    let (_, tokens) = org
        .app
        .token_call(&org.owner, Method::GET, "/api/v1/tokens", None)
        .await;
    let id = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| org.owner.starts_with(t["prefix"].as_str().unwrap()))
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .expect("the token is listed");
    let (status, body) = org
        .app
        .token_call(
            &org.owner,
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let (texts, code) = until_closed(&mut feed).await;
    assert_ended_with(&texts, code, "unauthenticated");
    // The subscription ends with the reason …
    let mut after = Vec::new();
    while !after
        .iter()
        .any(|v: &Value| v["type"] == "complete" && v["id"] == "events")
    {
        after.push(next_json(&mut gql).await);
    }
    let errors = after
        .iter()
        .find(|v| v["id"] == "events" && v["type"] == "next")
        .map(|v| v["payload"]["errors"].clone())
        .unwrap_or_else(|| panic!("an error before the end: {after:?}"));
    assert_eq!(
        errors[0]["extensions"]["code"], "unauthenticated",
        "{after:?}"
    );
    // … and nothing more is done for the connection's caller.
    gql.send(send(
        json!({"id": "me-2", "type": "subscribe", "payload": {"query": "{ me { id } }"}}),
    ))
    .await
    .unwrap();
    let reply = next_json(&mut gql).await;
    assert_eq!(reply["id"], "me-2", "{reply}");
    assert!(reply["payload"]["data"].is_null(), "{reply}");
    assert_eq!(
        reply["payload"]["errors"][0]["extensions"]["code"], "unauthenticated",
        "{reply}"
    );
}

#[tokio::test]
async fn access_ended_elsewhere_is_noticed_by_the_periodic_check() {
    let app = spawn_app_with(Options {
        live_recheck_secs: 1,
        ..Options::default()
    })
    .await;
    let org = org_with(app).await;
    let session = session_of(&org, &org.owner).await;
    let mut feed = follow(&org.app, session, &org.owner).await;
    // Another api instance deleted the session: nothing tells this one.
    sqlx::query("UPDATE sessions SET deleted_at = now() WHERE id = $1")
        .bind(session)
        .execute(&org.app.db.pool)
        .await
        .unwrap();
    let (texts, code) = until_closed(&mut feed).await;
    assert_ended_with(&texts, code, "not_found");
}

#[tokio::test]
async fn logging_out_ends_the_browsers_feeds() {
    let org = org_with(without_periodic_checks().await).await;
    let (user, token) = org.app.user_with_role(org.id, Role::Member).await;
    let session = session_of(&org, &token).await;
    let redis = rc_runtime::checks::redis_pool(org.app.settings.redis.url.expose(), 1).unwrap();
    let store = api::auth::store::LoginStore::new(redis, &org.app.settings.redis.key_prefix, 3600);
    let (sid, login) = store.create(user).await.unwrap();
    let url = format!(
        "{}/api/v1/sessions/{session}/events?org_id={}",
        org.app.address.replace("http://", "ws://"),
        org.id
    );
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("cookie", format!("rc_session={sid}").parse().unwrap());
    let (mut feed, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.status(), 101);
    let res = reqwest::Client::new()
        .post(org.app.url("/api/v1/auth/logout"))
        .header("cookie", format!("rc_session={sid}"))
        .header("x-csrf-token", login.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let (texts, code) = until_closed(&mut feed).await;
    assert_ended_with(&texts, code, "unauthenticated");
    assert!(
        texts[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sign in again"),
        "{texts:?}"
    );
}

#[tokio::test]
async fn deleting_a_session_ends_its_feeds_at_once_and_no_others() {
    let org = org_with(without_periodic_checks().await).await;
    let deleted = session_of(&org, &org.owner).await;
    let kept = session_of(&org, &org.owner).await;
    let mut on_deleted = follow(&org.app, deleted, &org.owner).await;
    let mut on_kept = follow(&org.app, kept, &org.owner).await;
    let (status, body) = org
        .app
        .token_call(
            &org.owner,
            Method::DELETE,
            &format!("/api/v1/sessions/{deleted}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (texts, code) = until_closed(&mut on_deleted).await;
    assert_ended_with(&texts, code, "not_found");
    // The other session's feed is still open and answering.
    on_kept
        .send(Message::Text("{\"type\": \"nonsense\"}".into()))
        .await
        .unwrap();
    let reply = next_json(&mut on_kept).await;
    assert_eq!(reply["error"]["code"], "validation_failed", "{reply}");
}

#[tokio::test]
async fn rights_changed_in_the_database_reach_open_sockets_at_once() {
    // As another api process (or an operator) would: straight in the database, nothing said
    // to this process — the triggers announce it.
    let org = org_with(without_periodic_checks().await).await;
    let (member_id, member) = org.app.user_with_role(org.id, Role::Member).await;
    let session = session_of(&org, &member).await;
    let mut members_feed = follow(&org.app, session, &member).await;
    let owners_session = session_of(&org, &org.owner).await;
    let mut owners_feed = follow(&org.app, owners_session, &org.owner).await;

    sqlx::query("DELETE FROM memberships WHERE user_id = $1")
        .bind(member_id)
        .execute(&org.app.db.pool)
        .await
        .unwrap();
    let (texts, code) = until_closed(&mut members_feed).await;
    assert_ended_with(&texts, code, "unauthenticated");

    sqlx::query("UPDATE api_tokens SET revoked_at = now() WHERE org_id = $1")
        .bind(org.id)
        .execute(&org.app.db.pool)
        .await
        .unwrap();
    let (texts, code) = until_closed(&mut owners_feed).await;
    assert_ended_with(&texts, code, "unauthenticated");
}
