//! Which sessions changed, as it happens: what keeps session lists current without polling.
//!
//! A trigger on `sessions` (migration `20261127000001`) NOTIFYs [`CHANNEL`] whenever a session
//! is created or its state, name, model, permission mode or deletion changes — whoever wrote
//! it (the api, session-manager, the worker). Each api process holds one LISTEN connection,
//! opened on first use, and fans the notifications out to its followers; each follower sees
//! only the sessions its caller may list (members: their own). Notifications are not stored:
//! a follower gets a `resync` first, and again whenever changes may have been missed (the
//! listener lost its connection, or the follower fell behind), and then reads the list again.

use crate::sessions::SessionState;
use crate::Domain;
use futures::Stream;
use rc_auth::{perm, Granted};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::broadcast;
use uuid::Uuid;

/// The notification channel the trigger writes to.
pub const CHANNEL: &str = "rc_session_changes";

/// Notifications queued per follower before it counts as behind (and is told to resync).
const FOLLOWER_BACKLOG: usize = 1024;

/// One change to the caller's session list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct SessionChange {
    /// Changes may have been missed (just connected, or the server lost track for a moment):
    /// read the list again. The other fields are then empty.
    pub resync: bool,
    pub session_id: Option<Uuid>,
    /// The session's state after the change.
    pub state: Option<SessionState>,
    /// The session was deleted: remove it from the list.
    pub deleted: bool,
}

impl SessionChange {
    fn missed() -> Self {
        Self {
            resync: true,
            session_id: None,
            state: None,
            deleted: false,
        }
    }
}

/// What the trigger sends.
#[derive(Debug, Clone, Deserialize)]
struct Notice {
    org_id: Uuid,
    session_id: Uuid,
    owner_id: Uuid,
    state: SessionState,
    deleted: bool,
}

#[derive(Debug, Clone)]
enum Update {
    Changed(Notice),
    /// The listener reconnected: anything may have happened meanwhile.
    Resync,
}

/// The process's one listener and its followers.
#[derive(Clone)]
pub struct SessionChangeHub {
    tx: broadcast::Sender<Update>,
    started: Arc<OnceLock<()>>,
    /// Whether the listener is connected and LISTENing now.
    listening: Arc<AtomicBool>,
}

impl Default for SessionChangeHub {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(FOLLOWER_BACKLOG).0,
            started: Arc::new(OnceLock::new()),
            listening: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl SessionChangeHub {
    /// A new follower's updates, starting with a `Resync` once changes are being heard: at
    /// once when the listener is listening, else when it is (it announces each connection).
    fn subscribe(&self, db: &PgPool) -> broadcast::Receiver<Update> {
        // Subscribe before looking: a connection made in between announces itself to this
        // follower too (at worst it hears two resyncs).
        let rx = self.tx.subscribe();
        self.started.get_or_init(|| {
            tokio::spawn(listen(db.clone(), self.tx.clone(), self.listening.clone()));
        });
        rx
    }

    fn listening(&self) -> bool {
        self.listening.load(Ordering::SeqCst)
    }
}

/// Keeps one LISTEN connection, re-established after any failure (each time followed by a
/// `Resync`), until the pool closes (the process is stopping).
async fn listen(db: PgPool, tx: broadcast::Sender<Update>, listening: Arc<AtomicBool>) {
    let mut pause = Duration::from_millis(100);
    loop {
        if db.is_closed() {
            return;
        }
        let mut listener = match connect(&db).await {
            Ok(listener) => listener,
            Err(err) => {
                tracing::warn!(%err, ?pause, "cannot listen for session changes; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(10));
                continue;
            }
        };
        pause = Duration::from_millis(100);
        listening.store(true, Ordering::SeqCst);
        let _ = tx.send(Update::Resync);
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    match serde_json::from_str::<Notice>(notification.payload()) {
                        Ok(notice) => {
                            let _ = tx.send(Update::Changed(notice));
                        }
                        Err(err) => {
                            tracing::warn!(%err, payload = notification.payload(), "unreadable session change")
                        }
                    }
                }
                // The connection dropped; whatever happens until the next one is not heard.
                Ok(None) | Err(_) => {
                    listening.store(false, Ordering::SeqCst);
                    break;
                }
            }
        }
    }
}

async fn connect(db: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(db).await?;
    // Reconnecting is done here, explicitly, so that every new connection is followed by a
    // `Resync`.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// The caller's session list changes: a `resync` first (once changes are being heard, so a
/// list read after it misses nothing), then each change to a session they may list, as it
/// commits.
pub fn follow(
    domain: &Domain,
    granted: &Granted<perm::SessionsRead>,
) -> impl Stream<Item = SessionChange> + Send + 'static {
    let hub = &domain.session_changes;
    let rx = hub.subscribe(&domain.db);
    let now = hub.listening().then(SessionChange::missed);
    let org = granted.org_id;
    // Members list only their own sessions.
    let owner = (!granted.sees_all_sessions()).then_some(granted.user_id);
    let live = domain.live.clone();
    let first = futures::stream::iter(now);
    let rest = futures::stream::unfold(rx, move |mut rx| async move {
        loop {
            let change = match rx.recv().await {
                Ok(Update::Changed(notice)) => {
                    if notice.org_id != org || owner.is_some_and(|o| o != notice.owner_id) {
                        continue;
                    }
                    SessionChange {
                        resync: false,
                        session_id: Some(notice.session_id),
                        state: Some(notice.state),
                        deleted: notice.deleted,
                    }
                }
                Ok(Update::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                    SessionChange::missed()
                }
                // The hub is gone: the process is stopping.
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            return Some((change, rx));
        }
    });
    // Ends when the api shuts down, like the events feed (its WebSocket then closes with
    // 1012, and the client reconnects elsewhere).
    futures::StreamExt::take_until(futures::StreamExt::chain(first, rest), async move {
        live.closed().await
    })
}
