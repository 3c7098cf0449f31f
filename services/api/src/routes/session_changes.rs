//! `GET /api/v1/sessions/changes` (WebSocket): the caller's session list, live — what lets a
//! list page update its badges without polling (`rc_domain::session_changes`).
//!
//! Server → client text frames, each a `SessionChange` as JSON: `{"resync":true,…}` first and
//! whenever changes may have been missed (then read the list again), otherwise
//! `{"resync":false,"session_id":…,"state":…,"deleted":…}` for each session the caller may
//! list, as it commits. The client sends nothing (pings aside). The server pings every 20 s;
//! it closes with 1012 when the api restarts, and with 1008 (after an error frame) when the
//! caller loses access (see [`crate::auth::live`]).

use super::resource;
use super::ws::{error_frame, Keepalive};
use crate::auth::extract::check_ws_origin;
use crate::auth::live::{close_reason, Changes, LiveCaller, Revocation};
use crate::auth::AuthzLive;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use futures::{Stream, StreamExt as _};
use rc_auth::perm;
use rc_domain::session_changes::{self, SessionChange};
use rc_errors::{AppError, AppResult, ErrorBody};
use tokio::sync::watch;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Before `/sessions/{id}`, which would take "changes" for an id.
    cfg.service(resource("/sessions/changes").get(changes));
}

/// The caller's session list changes over a WebSocket (send `Upgrade: websocket`): a
/// `SessionChange` JSON text frame per change to a session the caller may list (members: their
/// own), after a first `{"resync": true}`. Browsers pass `org_id` in the query (they cannot
/// set `X-Org-Id` on a WebSocket) and must come from the platform's own `Origin`.
#[utoipa::path(operation_id = "sessions_changes", get, path = "/api/v1/sessions/changes", tag = "sessions",
    params(("org_id" = Option<Uuid>, Query, description = "The organisation, for browsers")),
    responses((status = 101, body = SessionChange, description = "Switching to the WebSocket protocol; every text frame is a `SessionChange`"),
        (status = 400, body = ErrorBody, description = "Not a WebSocket upgrade"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn changes(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    AuthzLive(g, caller, rights): AuthzLive<perm::SessionsRead>,
) -> AppResult<HttpResponse> {
    check_ws_origin(&req, &state)?;
    let (scope, follows) = watch::channel(session_changes::scope_of(&g));
    let changes = session_changes::follow(&state.domain, &g, follows);
    let (response, session, messages) = actix_ws::handle(&req, body)
        .map_err(|e| AppError::validation("upgrade", format!("not a WebSocket upgrade: {e}")))?;
    actix_web::rt::spawn(relay(session, messages, changes, caller, rights, scope));
    Ok(response)
}

/// Until the caller may no longer list sessions; each check also narrows or widens which
/// sessions they hear about to what their role allows now (a demoted admin hears only their
/// own from then on, after a resync).
pub async fn list_revoked(
    caller: &LiveCaller,
    rights: Changes,
    scope: &watch::Sender<Option<uuid::Uuid>>,
) -> AppError {
    caller
        .revoked::<perm::SessionsRead, _, _>(rights, None, |granted| {
            scope.send_if_modified(|current| {
                let now = session_changes::scope_of(&granted);
                let changed = *current != now;
                *current = now;
                changed
            });
            async { Ok(()) }
        })
        .await
}

async fn relay(
    mut session: actix_ws::Session,
    mut messages: actix_ws::MessageStream,
    changes: impl Stream<Item = SessionChange>,
    caller: LiveCaller,
    rights: Changes,
    scope: watch::Sender<Option<uuid::Uuid>>,
) {
    let revoked = Revocation::spawn(async move { list_revoked(&caller, rights, &scope).await });
    tokio::pin!(revoked, changes);
    let mut keepalive = Keepalive::new();
    let close = loop {
        tokio::select! {
            biased;
            err = &mut revoked => {
                let _ = session.text(error_frame(&err).to_string()).await;
                break Some(close_reason(&err));
            }
            change = changes.next() => match change {
                Some(change) => {
                    let Ok(text) = serde_json::to_string(&change) else { continue };
                    if session.text(text).await.is_err() {
                        return;
                    }
                }
                None => break Some(actix_ws::CloseReason { code: actix_ws::CloseCode::Restart, description: Some("server restarting; reconnect".into()) }),
            },
            message = messages.next() => match message {
                Some(Ok(actix_ws::Message::Ping(bytes))) => {
                    keepalive.heard();
                    if session.pong(&bytes).await.is_err() {
                        return;
                    }
                }
                Some(Ok(actix_ws::Message::Close(_))) | None | Some(Err(_)) => break None,
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
