//! Every change made through the file API is reported here, so it can become a session event
//! (`EventBody::FileChanged`). Only session-manager writes session events today, so the
//! default sink just logs; a sink that publishes to the bus (or writes `session_events`) plugs
//! in through [`crate::Application::build_with`].

use rc_events::FileChange;
use uuid::Uuid;

/// One change, with who made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChanged {
    pub org_id: Uuid,
    pub session_id: Uuid,
    pub user_id: Uuid,
    /// Relative to the workspace; for a rename the new name.
    pub path: String,
    pub change: FileChange,
}

pub trait ChangeSink: Send + Sync + 'static {
    /// Called after the change happened; must not block.
    fn file_changed(&self, change: FileChanged);
}

/// The default: a structured log line per change.
#[derive(Debug, Default)]
pub struct LogChanges;

impl ChangeSink for LogChanges {
    fn file_changed(&self, change: FileChanged) {
        tracing::info!(
            org_id = %change.org_id,
            session_id = %change.session_id,
            user_id = %change.user_id,
            path = %change.path,
            change = ?change.change,
            "file changed"
        );
    }
}
