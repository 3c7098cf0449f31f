//! Session lists follow changes live: `GET /api/v1/sessions/changes` (WebSocket) and the
//! `sessionChanges` GraphQL subscription tell each caller about the sessions they may list, as
//! the rows commit — whoever wrote them (here the api, and SQL standing in for
//! session-manager).

use crate::helpers::{next_json as next, spawn_app, Socket, TestApp};
use futures::SinkExt as _;
use rc_auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

async fn org(app: &TestApp) -> (Uuid, String) {
    app.org_with_owner().await
}

async fn watch(app: &TestApp, token: &str) -> Socket {
    let mut socket = app.ws("/api/v1/sessions/changes", token, None).await;
    // Every watch starts with a resync, sent once the api is listening for changes.
    assert_eq!(next(&mut socket).await["resync"], true);
    socket
}

/// The next change to a session (a second resync right after connecting is possible).
async fn next_change(socket: &mut Socket) -> Value {
    loop {
        let frame = next(socket).await;
        let change = frame
            .get("payload")
            .map_or(&frame, |p| &p["data"]["sessionChanges"]);
        if change["resync"] != true {
            return frame;
        }
    }
}

async fn create(app: &TestApp, token: &str) -> String {
    app.create_session(token, "listed").await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_session_list_hears_creation_state_changes_and_deletion() {
    let app = spawn_app().await;
    let (_, owner) = org(&app).await;
    let mut list = watch(&app, &owner).await;

    let id = create(&app, &owner).await;
    let created = next_change(&mut list).await;
    assert_eq!(
        created,
        json!({"resync": false, "session_id": id, "state": "pending", "deleted": false})
    );
    // session-manager moving it along (any writer fires the trigger).
    sqlx::query("UPDATE sessions SET state = 'running' WHERE id = $1::uuid")
        .bind(&id)
        .execute(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(next_change(&mut list).await["state"], "running");
    // Bookkeeping the list does not show says nothing …
    sqlx::query("UPDATE sessions SET last_activity_at = now(), agent_seq = 7 WHERE id = $1::uuid")
        .bind(&id)
        .execute(&app.db.pool)
        .await
        .unwrap();
    // … so the next thing heard is the deletion.
    let (status, body) = app
        .token_call(
            &owner,
            Method::DELETE,
            &format!("/api/v1/sessions/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let deleted = next_change(&mut list).await;
    assert_eq!(deleted["session_id"], id.as_str());
    assert_eq!(deleted["deleted"], true, "{deleted}");
}

#[tokio::test]
async fn each_caller_hears_only_the_sessions_they_may_list() {
    let app = spawn_app().await;
    let (org_id, owner) = org(&app).await;
    let (_, member) = app.user_with_role(org_id, Role::Member).await;
    let (_, viewer) = app.user_with_role(org_id, Role::Viewer).await;
    let (_, stranger) = app.other_org().await;
    let mut members = watch(&app, &member).await;
    let mut viewers = watch(&app, &viewer).await;
    let mut strangers = watch(&app, &stranger).await;

    let owners_session = create(&app, &owner).await;
    let members_session = create(&app, &member).await;
    let strangers_session = create(&app, &stranger).await;
    // Notifications arrive in commit order, so a follower that was told about the owner's
    // session would hear it before its own.
    assert_eq!(
        next_change(&mut members).await["session_id"],
        members_session.as_str()
    );
    assert_eq!(
        next_change(&mut viewers).await["session_id"],
        owners_session.as_str()
    );
    assert_eq!(
        next_change(&mut viewers).await["session_id"],
        members_session.as_str()
    );
    assert_eq!(
        next_change(&mut strangers).await["session_id"],
        strangers_session.as_str()
    );

    // Without a credential, or as a plain GET: refused before any upgrade.
    let res = reqwest::get(app.url("/api/v1/sessions/changes"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = app
        .token_call(&owner, Method::GET, "/api/v1/sessions/changes", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn a_lost_listener_connection_tells_followers_to_resync_and_listens_again() {
    let app = spawn_app().await;
    let (_, owner) = org(&app).await;
    let mut list = watch(&app, &owner).await;
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = $1 AND query LIKE 'LISTEN%'",
    )
    .bind(&database)
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(killed, vec![true], "the api's one listener connection");
    // Whatever happened while it was away is unknown: read the list again …
    assert_eq!(next(&mut list).await["resync"], true);
    // … and changes are heard again.
    let id = create(&app, &owner).await;
    assert_eq!(next_change(&mut list).await["session_id"], id.as_str());
}

#[tokio::test]
async fn the_graphql_subscription_hears_the_same_changes() {
    let app = spawn_app().await;
    let (_, owner) = org(&app).await;
    let mut socket = app
        .ws("/graphql/ws", &owner, Some("graphql-transport-ws"))
        .await;
    let send = |v: Value| Message::Text(v.to_string().into());
    socket
        .send(send(json!({"type": "connection_init"})))
        .await
        .unwrap();
    assert_eq!(next(&mut socket).await["type"], "connection_ack");
    socket
        .send(send(json!({
            "id": "1", "type": "subscribe",
            "payload": {"query": "subscription { sessionChanges { resync sessionId state deleted } }"}
        })))
        .await
        .unwrap();
    let first = next(&mut socket).await;
    assert_eq!(
        first["payload"]["data"]["sessionChanges"]["resync"], true,
        "{first}"
    );
    let id = create(&app, &owner).await;
    let change = next_change(&mut socket).await;
    assert_eq!(
        change["payload"]["data"]["sessionChanges"],
        json!({"resync": false, "sessionId": id, "state": "PENDING", "deleted": false}),
        "{change}"
    );
}

#[tokio::test]
async fn a_demoted_admin_hears_only_their_own_sessions_from_then_on() {
    let app = spawn_app().await;
    let (org_id, owner) = org(&app).await;
    let (admin_id, admin) = app.user_with_role(org_id, Role::Admin).await;
    let mut list = watch(&app, &admin).await;
    let before = create(&app, &owner).await;
    assert_eq!(next_change(&mut list).await["session_id"], before.as_str());

    let (status, body) = app
        .token_call(
            &owner,
            Method::PATCH,
            &format!("/api/v1/members/{admin_id}"),
            Some(json!({"role": "member"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The list they may read changed: read it again …
    assert_eq!(next(&mut list).await["resync"], true);
    // … and the owner's new session is not theirs to hear about; their own is.
    create(&app, &owner).await;
    let own = create(&app, &admin).await;
    assert_eq!(next_change(&mut list).await["session_id"], own.as_str());
}
