//! The session behind a request: it must belong to the caller's organisation (checked here
//! again, whatever the api said) and be running, because files are reached through its
//! sandbox's agent.

use crate::caller::Caller;
use rc_errors::{AppError, ErrorCode};
use sqlx::PgPool;

/// The running sandbox of the caller's session (its container name).
pub async fn running_sandbox(db: &PgPool, caller: &Caller) -> Result<String, AppError> {
    let row = sqlx::query!(
        r#"SELECT state::text AS "state!", sandbox_name FROM sessions
           WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL"#,
        caller.session_id,
        caller.org_id,
    )
    .fetch_optional(db)
    .await?;
    let Some(row) = row else {
        return Err(AppError::not_found("session"));
    };
    let (state, sandbox) = (row.state, row.sandbox_name);
    match (state.as_str(), sandbox) {
        ("running", Some(sandbox)) => Ok(sandbox),
        _ => Err(not_running(&state)),
    }
}

pub fn not_running(state: &str) -> AppError {
    AppError::new(
        ErrorCode::Conflict,
        format!("the session is {state}: start the session to access its files"),
    )
}
