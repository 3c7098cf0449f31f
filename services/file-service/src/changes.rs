//! Every change made through the file API is reported here, so it can become a session event
//! (`EventBody::FileChanged`). Only a session's actor in session-manager writes its events, so
//! [`BusChanges`] (the default) publishes `task.file_changed` to the node that owns the
//! session; [`LogChanges`] only logs (for tests that want no bus).

use rc_bus::messages::TaskEvent;
use rc_bus::Bus;
use rc_events::FileChange;
use sqlx::PgPool;
use std::sync::Arc;
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

/// Publishes each change to the session's owning session-manager node, in the order they
/// happened (one publishing task; a task per change could overtake each other). Best effort:
/// the file operation already happened, so a broker outage loses the event (logged), never
/// the write.
pub struct BusChanges {
    tx: tokio::sync::mpsc::UnboundedSender<FileChanged>,
}

impl BusChanges {
    pub fn new(bus: Arc<Bus>, db: PgPool) -> Self {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<FileChanged>();
        tokio::spawn(async move {
            while let Some(change) = rx.recv().await {
                let node_id = sqlx::query_scalar!(
                    "SELECT node_id FROM sessions WHERE id = $1",
                    change.session_id
                )
                .fetch_optional(&db)
                .await
                .ok()
                .flatten()
                .flatten();
                let message = TaskEvent::FileChanged {
                    session_id: change.session_id,
                    org_id: change.org_id,
                    node_id,
                    path: change.path.clone(),
                    change: change.change.clone(),
                };
                if let Err(err) = bus.publish(&message).await {
                    tracing::warn!(session_id = %change.session_id, path = %change.path, %err, "could not publish a file change");
                }
            }
        });
        Self { tx }
    }
}

impl ChangeSink for BusChanges {
    fn file_changed(&self, change: FileChanged) {
        let _ = self.tx.send(change);
    }
}
