//! Terminals: the internal WebSocket the api relays a browser's terminal to
//! (`GET /internal/v1/sessions/{id}/terminal`). This node holds the session's agent
//! connection, so the terminal is a `pty` channel on it: bash, or the interactive Claude TUI.
//!
//! Query: `pty_id` (re-attach to a running terminal: its recent output comes back first) or
//! `program=bash|claude` with `cols`/`rows` (a new one). Frames: binary both ways are the
//! terminal's bytes; text frames are JSON control messages — client → `{"type":"resize",
//! "cols","rows"}`; server → `{"type":"opened"|"attached","pty_id"}`, `{"type":"exit",
//! "code","signal"}`, `{"type":"error","message"}`. Terminals outlive the socket (the agent
//! owns them), so a dropped connection re-attaches; `{"type":"close"}` hangs one up.

use crate::manager::Shared;
use crate::sandbox::spec::{HOME_DIR, WORKSPACE_DIR};
use actix_web::{web, HttpRequest, HttpResponse};
use futures::StreamExt as _;
use rc_agent_protocol::pty::{PtyEvent, PtyRequest};
use serde::Deserialize;
use std::sync::Arc;
use uuid::Uuid;

pub fn configure(shared: Arc<Shared>) -> impl Fn(&mut web::ServiceConfig) + Clone + Send {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::from(shared.clone())).route(
            "/internal/v1/sessions/{id}/terminal",
            web::get().to(terminal),
        );
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Program {
    Bash,
    Claude,
}

#[derive(Debug, Deserialize)]
struct TerminalQuery {
    pty_id: Option<u64>,
    program: Option<Program>,
    cols: Option<u16>,
    rows: Option<u16>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Control {
    Resize { cols: u16, rows: u16 },
    Close,
}

fn refuse(status: actix_web::http::StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({"error": {"message": message}}))
}

async fn terminal(
    req: HttpRequest,
    body: web::Payload,
    shared: web::Data<Shared>,
    path: web::Path<Uuid>,
    query: web::Query<TerminalQuery>,
) -> actix_web::Result<HttpResponse> {
    use actix_web::http::StatusCode;
    let expected = format!(
        "Bearer {}",
        shared.settings.session_manager.internal_token.expose()
    );
    let sent = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
        return Ok(refuse(StatusCode::UNAUTHORIZED, "internal token required"));
    }
    let session_id = path.into_inner();
    let Some((agent, session)) = shared.agent(session_id) else {
        return Ok(refuse(
            StatusCode::CONFLICT,
            "the session is not running on this node; start it first",
        ));
    };
    let first = match query.pty_id {
        Some(pty_id) => PtyRequest::Attach { pty_id },
        None => {
            let (command, extra_env) = match query.program.as_ref().unwrap_or(&Program::Bash) {
                Program::Bash => (vec!["/bin/bash".to_owned(), "-l".to_owned()], vec![]),
                // The TUI talks to the model through the same loopback tunnel as Claude's
                // turns; onboarding is pre-seeded by the agent (~/.claude.json). The dummy
                // credential goes in as a bearer token: with an API key the TUI would first
                // ask whether to use it (claude-cli.md §8); the model proxy replaces either.
                Program::Claude => (
                    vec!["claude".to_owned()],
                    crate::session::claude::model_env(&session)
                        .into_iter()
                        .map(|(k, v)| match k.as_str() {
                            "ANTHROPIC_API_KEY" => ("ANTHROPIC_AUTH_TOKEN".to_owned(), v),
                            _ => (k, v),
                        })
                        .collect(),
                ),
            };
            let mut env = vec![
                ("HOME".to_owned(), HOME_DIR.to_owned()),
                ("PATH".to_owned(), "/usr/local/bin:/usr/bin:/bin".to_owned()),
                ("LANG".to_owned(), "C.UTF-8".to_owned()),
                ("TERM".to_owned(), "xterm-256color".to_owned()),
                ("SHELL".to_owned(), "/bin/bash".to_owned()),
            ];
            env.extend(extra_env);
            PtyRequest::Open {
                cols: query.cols.unwrap_or(80).clamp(10, 500),
                rows: query.rows.unwrap_or(24).clamp(5, 300),
                command,
                env,
                cwd: WORKSPACE_DIR.to_owned(),
            }
        }
    };
    let channel = match agent.open_pty().await {
        Ok(channel) => channel,
        Err(err) => {
            return Ok(refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("the sandbox agent did not open a terminal: {err}"),
            ))
        }
    };
    let (mut to_pty, mut from_pty) = channel.split();
    if to_pty.send(first).await.is_err() {
        return Ok(refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the sandbox agent closed the terminal",
        ));
    }
    let (response, mut socket, mut messages) = actix_ws::handle(&req, body)?;
    metrics::gauge!("rc_terminals_open").increment(1.0);
    actix_web::rt::spawn(async move {
        loop {
            tokio::select! {
                event = from_pty.recv() => {
                    let sent = match event {
                        Some(Ok(PtyEvent::Data { data })) => socket.binary(data).await,
                        Some(Ok(PtyEvent::Opened { pty_id, .. })) => {
                            socket.text(serde_json::json!({"type": "opened", "pty_id": pty_id}).to_string()).await
                        }
                        Some(Ok(PtyEvent::Attached { pty_id, scrollback, .. })) => {
                            let announced = socket.text(serde_json::json!({"type": "attached", "pty_id": pty_id}).to_string()).await;
                            match announced {
                                Ok(()) => socket.binary(scrollback).await,
                                Err(e) => Err(e),
                            }
                        }
                        Some(Ok(PtyEvent::Exit { code, signal })) => {
                            let _ = socket.text(serde_json::json!({"type": "exit", "code": code, "signal": signal}).to_string()).await;
                            break;
                        }
                        Some(Ok(PtyEvent::Error { message })) => {
                            let _ = socket.text(serde_json::json!({"type": "error", "message": message}).to_string()).await;
                            break;
                        }
                        Some(Err(_)) | None => break,
                    };
                    if sent.is_err() {
                        break;
                    }
                }
                message = messages.next() => match message {
                    Some(Ok(actix_ws::Message::Binary(data))) => {
                        if to_pty.send(PtyRequest::Data { data: data.to_vec() }).await.is_err() {
                            break;
                        }
                    }
                    Some(Ok(actix_ws::Message::Text(text))) => {
                        match serde_json::from_str::<Control>(&text) {
                            Ok(Control::Resize { cols, rows }) => {
                                let resize = PtyRequest::Resize { cols: cols.clamp(10, 500), rows: rows.clamp(5, 300) };
                                if to_pty.send(resize).await.is_err() {
                                    break;
                                }
                            }
                            Ok(Control::Close) => {
                                let _ = to_pty.send(PtyRequest::Close).await;
                            }
                            Err(err) => {
                                let _ = socket.text(serde_json::json!({"type": "error", "message": format!("unknown control message: {err}")}).to_string()).await;
                            }
                        }
                    }
                    Some(Ok(actix_ws::Message::Ping(bytes))) => {
                        if socket.pong(&bytes).await.is_err() {
                            break;
                        }
                    }
                    // The client left: the terminal keeps running for a re-attach.
                    Some(Ok(actix_ws::Message::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => {}
                },
            }
        }
        metrics::gauge!("rc_terminals_open").decrement(1.0);
        let _ = socket.close(None).await;
    });
    Ok(response)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
