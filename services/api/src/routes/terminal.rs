//! `GET /api/v1/sessions/{id}/terminal` (WebSocket): a terminal in the session's sandbox, relayed
//! to the session-manager that holds the sandbox's agent connection.
//!
//! Query: `program=bash|claude` (default bash), `cols`, `rows` for a new terminal, or
//! `pty_id=N` to re-attach to one that is still running (its recent output comes first).
//! Frames: binary both ways are terminal bytes; text frames are JSON control messages —
//! client → `{"type":"resize","cols":…,"rows":…}` or `{"type":"close"}` (hang up); server →
//! `{"type":"opened"|"attached","pty_id":…}`, `{"type":"exit",…}`, `{"type":"error",…}`.
//! Owners of the session and admins only, checked again while the socket is open (see
//! [`crate::auth::live`]): one who loses that right gets an error message and close 1008.
//! Closing the socket leaves the terminal running.

use crate::auth::extract::check_ws_origin;
use crate::auth::live::{close_reason, is_denial, Revocation};
use crate::auth::AuthzLive;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use futures::{SinkExt as _, StreamExt as _};
use rc_auth::perm;
use rc_errors::{AppError, AppResult, ErrorBody, ErrorCode};
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message as Upstream;
use uuid::Uuid;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/sessions/{id}/terminal").get(terminal));
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TerminalQuery {
    /// `bash` (default) or `claude` (the Claude TUI), for a new terminal.
    pub program: Option<String>,
    /// Re-attach to this running terminal (from `opened`) instead of starting one; its recent
    /// output comes first.
    pub pty_id: Option<u64>,
    /// Size of a new terminal (both or neither).
    pub cols: Option<u16>,
    pub rows: Option<u16>,
    /// The organisation, for browsers (which cannot set `X-Org-Id` on a WebSocket).
    pub org_id: Option<Uuid>,
}

/// A control message the client sends as a text frame (terminal input goes as binary frames).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TerminalClientMessage {
    Resize {
        cols: u16,
        rows: u16,
    },
    /// Hangs the terminal up (closing the socket leaves it running).
    Close,
}

/// A control message the server sends as a text frame (terminal output comes as binary
/// frames).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TerminalServerMessage {
    /// A new terminal started; keep `pty_id` to re-attach.
    Opened {
        pty_id: u64,
    },
    /// Re-attached; its scrollback follows.
    Attached {
        pty_id: u64,
    },
    /// The program ended.
    Exit {
        code: Option<i32>,
        signal: Option<i32>,
    },
    Error {
        message: String,
    },
}

/// A terminal in the session's sandbox over a WebSocket (send `Upgrade: websocket`). Binary
/// frames both ways are terminal bytes; text frames are JSON control messages
/// (`TerminalClientMessage` from the client, `TerminalServerMessage` from the server). The
/// session's owner and admins only; audited as `session.terminal`. A browser's `Origin` must
/// be the platform's own.
#[utoipa::path(operation_id = "session_terminal", get, path = "/api/v1/sessions/{id}/terminal", tag = "terminal",
    params(("id" = Uuid, Path, description = "The session"), TerminalQuery),
    responses((status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, body = ErrorBody, description = "Not a WebSocket upgrade, or a bad `program`"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The session is not running, or its sandbox is not attached yet"),
        (status = 503, body = ErrorBody, description = "The session's node does not answer")))]
pub async fn terminal(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    AuthzLive(g, caller, changes): AuthzLive<perm::SessionsWrite>,
    path: web::Path<Uuid>,
    query: web::Query<TerminalQuery>,
) -> AppResult<HttpResponse> {
    check_ws_origin(&req, &state)?;
    let program = query.program.as_deref().unwrap_or("bash");
    if !matches!(program, "bash" | "claude") {
        return Err(AppError::validation("program", "must be bash or claude"));
    }
    let session_id = path.into_inner();
    let target = rc_domain::terminals::open(&state.domain, &g, session_id, program).await?;
    let mut url = format!("{}?program={program}", target.url.replacen("http", "ws", 1));
    if let Some(pty_id) = query.pty_id {
        url.push_str(&format!("&pty_id={pty_id}"));
    }
    if let (Some(cols), Some(rows)) = (query.cols, query.rows) {
        url.push_str(&format!("&cols={cols}&rows={rows}"));
    }
    let mut upstream_req = url
        .into_client_request()
        .map_err(|e| AppError::internal(anyhow::anyhow!("terminal url: {e}")))?;
    let token = format!(
        "Bearer {}",
        state.settings().session_manager.internal_token.expose()
    );
    upstream_req.headers_mut().insert(
        "authorization",
        token
            .parse()
            .map_err(|_| AppError::internal(anyhow::anyhow!("internal token is not a header")))?,
    );
    let upstream = match tokio_tungstenite::connect_async(upstream_req).await {
        Ok((upstream, _)) => upstream,
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let status = response.status().as_u16();
            let detail = response
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            return Err(match status {
                409 => AppError::conflict(
                    "the session's sandbox is not attached yet; retry in a moment",
                ),
                _ => AppError::new(
                    ErrorCode::ServiceUnavailable,
                    format!("the sandbox node refused the terminal ({status}): {detail}"),
                ),
            });
        }
        Err(err) => {
            return Err(AppError::unavailable(
                "the session's sandbox node",
                anyhow::anyhow!("{err}"),
            ))
        }
    };
    let (response, session, messages) = actix_ws::handle(&req, body)
        .map_err(|e| AppError::validation("upgrade", format!("not a WebSocket upgrade: {e}")))?;
    let domain = state.domain.clone();
    let revoked = async move {
        caller
            .revoked::<perm::SessionsWrite, _, _>(changes, Some(session_id), |granted| {
                let domain = &domain;
                async move { rc_domain::terminals::may_use(domain, &granted, session_id).await }
            })
            .await
    };
    actix_web::rt::spawn(relay(
        session,
        messages,
        upstream,
        Revocation::spawn(revoked),
    ));
    Ok(response)
}

type UpstreamSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Copies frames both ways until either side closes, or until the caller loses access to
/// the session's terminals (an error message, then close 1008; the terminal keeps running
/// for those who still may attach).
async fn relay(
    mut client: actix_ws::Session,
    mut from_client: actix_ws::MessageStream,
    upstream: UpstreamSocket,
    revoked: impl std::future::Future<Output = AppError>,
) {
    let (mut to_node, mut from_node) = upstream.split();
    tokio::pin!(revoked);
    let mut close = None;
    loop {
        tokio::select! {
            // Access ending wins over anything else ready at the same time.
            biased;
            err = &mut revoked => {
                // An error frame tells the web app the terminal is over for this user; when
                // access only could not be checked (1013) it re-attaches instead.
                if is_denial(&err) {
                    let message = TerminalServerMessage::Error { message: err.message.clone() };
                    if let Ok(text) = serde_json::to_string(&message) {
                        let _ = client.text(text).await;
                    }
                }
                close = Some(close_reason(&err));
                break;
            }
            frame = from_client.next() => {
                let forwarded = match frame {
                    Some(Ok(actix_ws::Message::Binary(data))) => to_node.send(Upstream::Binary(data)).await,
                    Some(Ok(actix_ws::Message::Text(text))) => to_node.send(Upstream::Text(text.to_string().into())).await,
                    Some(Ok(actix_ws::Message::Ping(data))) => {
                        if client.pong(&data).await.is_err() {
                            break;
                        }
                        Ok(())
                    }
                    Some(Ok(actix_ws::Message::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => Ok(()),
                };
                if forwarded.is_err() {
                    break;
                }
            }
            frame = from_node.next() => {
                let forwarded = match frame {
                    Some(Ok(Upstream::Binary(data))) => client.binary(data).await,
                    Some(Ok(Upstream::Text(text))) => client.text(text.to_string()).await,
                    Some(Ok(Upstream::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => Ok(()),
                };
                if forwarded.is_err() {
                    break;
                }
            }
        }
    }
    let _ = to_node.close().await;
    let _ = client.close(close).await;
}
