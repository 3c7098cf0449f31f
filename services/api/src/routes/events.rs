//! A session's events: the stored history as JSON, and the live feed over a WebSocket on the
//! same path (`/api/v1/sessions/{id}/events?after_seq=N`). Both call `rc_domain::events`.
//!
//! WebSocket protocol (text frames, JSON):
//! * server → client `{"type":"event","event":{…}}` for every event after `after_seq`, in
//!   order, each exactly once; `event` is the flat `rc_events::SessionEvent` of the REST history;
//! * server → client `{"type":"error","error":{"code":…,"message":…}}`, then the socket
//!   closes; the client reconnects with the last `seq` it received and loses nothing;
//! * client → server `{"type":"decide_approval","approval_id":…,"decision":"allow"|"always"|
//!   "deny","message"?,"scope"?}` decides a permission request (as the REST call does); the
//!   reply is `{"type":"approval_decided","approval":{…}}` or an error frame naming the
//!   `approval_id` (the socket stays open);
//! * the server pings every 20 s and closes a connection that stayed silent for 60 s;
//! * when the caller loses access (removed or demoted, token revoked, logged out, session
//!   deleted: see [`crate::auth::live`]) the server sends an error frame and closes with 1008;
//!   when access cannot be checked for a while (database down) it closes with 1013.

use super::resource;
use super::ws::{error_frame, Keepalive};
use crate::auth::extract::check_ws_origin;
use crate::auth::live::{close_reason, Changes, LiveCaller, Revocation};
use crate::auth::{Authz, AuthzLive};
use crate::state::AppState;
use actix_web::{guard, web, HttpRequest, HttpResponse};
use futures::StreamExt as _;
use rc_auth::perm;
use rc_domain::events::SharedEvent;
use rc_errors::{AppError, AppResult, ErrorBody};
use serde::Deserialize;
use uuid::Uuid;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/sessions/{id}/events")
            .route(
                web::get()
                    .guard(guard::Header("upgrade", "websocket"))
                    .to(live),
            )
            .get(history),
    );
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Only events with a larger sequence number (default 0: from the start).
    pub after_seq: Option<i64>,
    /// At most this many, 1-1000 (default 200).
    pub limit: Option<i64>,
}

/// The session's events after `after_seq`, oldest first. Send `Upgrade: websocket` to the same
/// URL to follow them live instead.
#[utoipa::path(operation_id = "session_events", get, path = "/api/v1/sessions/{id}/events", tag = "events",
    params(("id" = Uuid, Path), HistoryParams),
    responses((status = 200, body = Vec<Object>, description = "SessionEvent objects: seq, task_id, at, kind and the kind's fields"),
              (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn history(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::SessionsRead>,
    path: web::Path<Uuid>,
    query: web::Query<HistoryParams>,
) -> AppResult<HttpResponse> {
    let events = rc_domain::events::history(
        &state.domain,
        &g,
        path.into_inner(),
        query.after_seq.unwrap_or(0),
        query.limit,
    )
    .await?;
    Ok(HttpResponse::Ok().json(events))
}

#[derive(Debug, Deserialize)]
pub struct LiveParams {
    /// Resume after this sequence number (the last one the client received).
    pub after_seq: Option<i64>,
}

/// The live feed: authorises, then streams. Errors before the upgrade are plain HTTP errors
/// (401, 404, …), so a client can tell "not allowed" from "connection dropped".
pub async fn live(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    AuthzLive(g, caller, changes): AuthzLive<perm::SessionsRead>,
    path: web::Path<Uuid>,
    query: web::Query<LiveParams>,
) -> AppResult<HttpResponse> {
    check_ws_origin(&req, &state)?;
    let session_id = path.into_inner();
    let events =
        rc_domain::events::follow(&state.domain, &g, session_id, query.after_seq.unwrap_or(0))
            .await?;
    let (response, session, messages) = actix_ws::handle(&req, body)
        .map_err(|e| AppError::validation("upgrade", format!("not a WebSocket upgrade: {e}")))?;
    let decider = Decider {
        domain: state.domain.clone(),
        caller,
        session_id,
    };
    actix_web::rt::spawn(relay(session, messages, Box::pin(events), decider, changes));
    Ok(response)
}

/// What a client may send on the events socket.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    /// Decide a permission request (same rules as `POST /approvals/{id}/decision`).
    DecideApproval {
        approval_id: Uuid,
        decision: rc_domain::approvals::Decision,
        message: Option<String>,
        scope: Option<rc_domain::approvals::AlwaysScope>,
    },
}

/// Acts for the socket's caller on what it sends, with their rights at that moment.
#[derive(Clone)]
struct Decider {
    domain: rc_domain::Domain,
    caller: LiveCaller,
    session_id: Uuid,
}

impl Decider {
    /// Resolves once the caller may no longer follow the session (see [`crate::auth::live`]).
    async fn revoked(&self, changes: Changes) -> AppError {
        self.caller
            .revoked::<perm::SessionsRead, _, _>(
                changes,
                Some(self.session_id),
                |granted| async move {
                    rc_domain::sessions::get(&self.domain, &granted, self.session_id)
                        .await
                        .map(|_| ())
                },
            )
            .await
    }

    /// The reply frame to one client message.
    async fn handle(&self, text: &str) -> serde_json::Value {
        let message = match serde_json::from_str::<ClientMessage>(text) {
            Ok(message) => message,
            Err(err) => {
                return error_frame(&AppError::validation(
                    "message",
                    format!("not a known client message: {err}"),
                ))
            }
        };
        match message {
            ClientMessage::DecideApproval {
                approval_id,
                decision,
                message,
                scope,
            } => {
                let decide = rc_domain::approvals::Decide {
                    decision,
                    message,
                    scope,
                };
                let decided = async {
                    let granted = self.caller.granted::<perm::TasksWrite>().await?;
                    rc_domain::approvals::decide(
                        &self.domain,
                        &granted,
                        approval_id,
                        decide,
                        rc_domain::approvals::Via::Websocket,
                    )
                    .await
                }
                .await;
                match decided {
                    Ok(approval) => {
                        serde_json::json!({"type": "approval_decided", "approval": approval})
                    }
                    Err(err) => {
                        let mut frame = error_frame(&err);
                        frame["approval_id"] = serde_json::json!(approval_id);
                        frame
                    }
                }
            }
        }
    }
}

type Events =
    std::pin::Pin<Box<dyn futures::Stream<Item = AppResult<std::sync::Arc<SharedEvent>>> + Send>>;

async fn relay(
    mut session: actix_ws::Session,
    mut messages: actix_ws::MessageStream,
    mut events: Events,
    decider: Decider,
    changes: Changes,
) {
    let mut keepalive = Keepalive::new();
    let revoked = Revocation::spawn({
        let decider = decider.clone();
        async move { decider.revoked(changes).await }
    });
    tokio::pin!(revoked);
    let close = loop {
        tokio::select! {
            // Access ending wins over anything else ready at the same time.
            biased;
            err = &mut revoked => {
                let _ = session.text(error_frame(&err).to_string()).await;
                break Some(close_reason(&err));
            }
            event = events.next() => match event {
                Some(Ok(shared)) => {
                    // The event's JSON is made once per process, not once per socket.
                    let frame = format!(r#"{{"type":"event","event":{}}}"#, shared.json);
                    if session.text(frame).await.is_err() {
                        return;
                    }
                }
                Some(Err(err)) => {
                    err.log();
                    let _ = session.text(error_frame(&err).to_string()).await;
                    break Some(actix_ws::CloseReason { code: actix_ws::CloseCode::Error, description: Some("event feed failed; reconnect with after_seq".into()) });
                }
                // The api is shutting down.
                None => break Some(actix_ws::CloseReason { code: actix_ws::CloseCode::Restart, description: Some("server restarting; reconnect with after_seq".into()) }),
            },
            message = messages.next() => match message {
                Some(Ok(actix_ws::Message::Ping(bytes))) => {
                    keepalive.heard();
                    if session.pong(&bytes).await.is_err() {
                        return;
                    }
                }
                Some(Ok(actix_ws::Message::Text(text))) => {
                    keepalive.heard();
                    let reply = decider.handle(&text).await;
                    if session.text(reply.to_string()).await.is_err() {
                        return;
                    }
                }
                Some(Ok(actix_ws::Message::Close(_))) | None | Some(Err(_)) => break None,
                // Pongs and anything else the client sends count as signs of life.
                Some(Ok(_)) => keepalive.heard(),
            },
            () = keepalive.due() => match keepalive.ping(&mut session).await {
                Ok(None) => {}
                Ok(Some(silent)) => break Some(silent),
                Err(_) => return,
            },
        }
    };
    let _ = session.close(close).await;
}
