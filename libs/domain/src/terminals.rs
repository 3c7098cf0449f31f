//! Terminals: who may open one on a session, and where its node is.
//!
//! A terminal is a shell (or the Claude TUI) inside the sandbox, so it is as powerful as the
//! session itself: only the session's owner and admins may open one — viewers and other
//! members cannot, even on sessions they may read.

use crate::audit::{self, Event};
use crate::{sessions, Domain};
use rc_auth::{perm, Granted};
use rc_errors::{AppError, AppResult, ErrorCode};
use uuid::Uuid;

/// Where the session's node serves its terminals.
#[derive(Debug, Clone)]
pub struct TerminalTarget {
    /// `http://…/internal/v1/sessions/{id}/terminal` on the owning session-manager.
    pub url: String,
}

/// Whether the caller may still use the session's terminals (owner or admin, session not
/// deleted): what an open terminal connection asks again while it lives.
pub async fn may_use(
    domain: &Domain,
    granted: &Granted<perm::SessionsWrite>,
    session_id: Uuid,
) -> AppResult<()> {
    sessions::fetch_actionable(&domain.db, granted, session_id)
        .await
        .map(|_| ())
}

/// Checks the caller may open a terminal on the session (owner or admin; the session must be
/// running) and finds its node. Opening is audited.
pub async fn open(
    domain: &Domain,
    granted: &Granted<perm::SessionsWrite>,
    session_id: Uuid,
    program: &str,
) -> AppResult<TerminalTarget> {
    let session = sessions::fetch_actionable(&domain.db, granted, session_id).await?;
    if session.state != sessions::SessionState::Running {
        return Err(AppError::conflict(format!(
            "the session is {}; terminals need a running session",
            format!("{:?}", session.state).to_lowercase()
        )));
    }
    let node = sqlx::query!(
        r#"SELECT n.internal_url FROM sessions s
           JOIN sandbox_nodes n ON n.node_id = s.node_id
           WHERE s.id = $1 AND s.org_id = $2
             AND n.heartbeat_at > now() - interval '20 seconds'"#,
        session_id,
        granted.org_id
    )
    .fetch_optional(&domain.db)
    .await?;
    let Some(base) = node.and_then(|n| n.internal_url) else {
        let mut err = AppError::new(
            ErrorCode::ServiceUnavailable,
            "the session's sandbox node is not reachable right now; retry shortly",
        );
        err.retry_after = Some(5);
        return Err(err);
    };
    let mut tx = domain.db.begin().await?;
    audit::record(
        &mut tx,
        granted,
        Event::new("session.terminal", "session", session_id)
            .details(serde_json::json!({ "program": program })),
    )
    .await?;
    tx.commit().await?;
    Ok(TerminalTarget {
        url: format!(
            "{}/internal/v1/sessions/{session_id}/terminal",
            base.trim_end_matches('/')
        ),
    })
}
