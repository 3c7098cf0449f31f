//! Who may reach a session's workspace. file-service serves the files (docs/files.md); the
//! api authorises here and forwards with the result, so the rules live in one place.

use crate::audit::{self, Event};
use crate::{sessions, Domain};
use rc_auth::{perm, Granted};
use rc_errors::AppResult;
use uuid::Uuid;

/// What file-service is told about the caller (`X-RC-Right`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRight {
    /// Everyone who can see the session (viewers included).
    Read,
    /// Whoever may act on it: its owner and admins.
    Write,
}

impl FileRight {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

/// An authorised access to one session's files.
#[derive(Debug, Clone)]
pub struct FileAccess {
    pub org_id: Uuid,
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub right: FileRight,
}

/// Checks the caller may read (or, for `write`, change) the session's files: 404 for a
/// session they cannot see, 403 when they may see but not change it. A change is audited
/// here (`session.files`, with what was asked), before it is forwarded.
pub async fn authorize(
    domain: &Domain,
    granted: &Granted<perm::SessionsRead>,
    session_id: Uuid,
    write: Option<ChangeRequest<'_>>,
) -> AppResult<FileAccess> {
    let right = match &write {
        None => {
            sessions::get(domain, granted, session_id).await?;
            FileRight::Read
        }
        Some(change) => {
            let writer = granted.also::<perm::SessionsWrite>()?;
            sessions::fetch_actionable(&domain.db, &writer, session_id).await?;
            let mut tx = domain.db.begin().await?;
            audit::record(
                &mut tx,
                &writer,
                Event::new("session.files", "session", session_id).details(serde_json::json!({
                    "method": change.method,
                    "operation": change.operation,
                })),
            )
            .await?;
            tx.commit().await?;
            FileRight::Write
        }
    };
    Ok(FileAccess {
        org_id: granted.org_id,
        session_id,
        user_id: granted.user_id,
        right,
    })
}

/// What a changing request asks for, for the audit log.
#[derive(Debug, Clone, Copy)]
pub struct ChangeRequest<'a> {
    pub method: &'a str,
    /// The operation and its target as the client named it (e.g. `files/content?path=a.txt`).
    pub operation: &'a str,
}
