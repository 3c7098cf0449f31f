//! What the api's server-side WebSockets share: the error frame, and the keep-alive (a ping
//! every 20 s; a peer silent for 60 s is closed as gone).

use rc_errors::AppError;
use std::time::{Duration, Instant};

const PING_EVERY: Duration = Duration::from_secs(20);
const SILENT_FOR: Duration = Duration::from_secs(60);

/// `{"type":"error","error":{"code","message","field"?}}`.
pub fn error_frame(err: &AppError) -> serde_json::Value {
    let mut error = serde_json::json!({"code": err.code.as_str(), "message": err.message});
    if let Some(field) = &err.field {
        error["field"] = serde_json::json!(field);
    }
    serde_json::json!({"type": "error", "error": error})
}

pub struct Keepalive {
    ping: tokio::time::Interval,
    heard: Instant,
}

impl Keepalive {
    pub fn new() -> Self {
        Self {
            ping: tokio::time::interval(PING_EVERY),
            heard: Instant::now(),
        }
    }

    /// Anything from the peer counts as a sign of life.
    pub fn heard(&mut self) {
        self.heard = Instant::now();
    }

    /// Resolves when it is time to ping (cancel-safe, for `select!`).
    pub async fn due(&mut self) {
        self.ping.tick().await;
    }

    /// After [`Keepalive::due`]: pings the peer, or — silent too long — the close reason.
    /// `Err` when the socket is gone.
    pub async fn ping(
        &self,
        session: &mut actix_ws::Session,
    ) -> Result<Option<actix_ws::CloseReason>, actix_ws::Closed> {
        if self.heard.elapsed() > SILENT_FOR {
            return Ok(Some(actix_ws::CloseReason {
                code: actix_ws::CloseCode::Away,
                description: Some("no answer to pings".into()),
            }));
        }
        session.ping(b"").await.map(|()| None)
    }
}
