//! Which sessions changed, as it happens: what keeps session lists current without polling.
//!
//! A trigger on `sessions` (migration `20261127000001`) NOTIFYs [`CHANNEL`] whenever a session
//! is created or its state, name, model, permission mode or deletion changes — whoever wrote
//! it (the api, session-manager, the worker). Each api process holds one LISTEN connection,
//! started with the process, and fans the notifications out to its followers; each follower sees
//! only the sessions its caller may list (members: their own). Notifications are not stored:
//! a follower gets a `resync` first, and again whenever changes may have been missed (the
//! listener lost its connection, or the follower fell behind), and then reads the list again.
//!
//! The same connection also LISTENs on [`RIGHTS_CHANNEL`] (migration `20261127000002`: a
//! role changed, a member removed, a token revoked; the api announces logouts itself) and
//! passes those on as [`RightsNotice`]s, with the deletions of sessions: what lets every api
//! process, not only the one that made a change, re-check its open WebSockets at once.

use crate::sessions::SessionState;
use crate::Domain;
use futures::Stream;
use rc_auth::{perm, Granted};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::PgPool;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

/// The notification channel the trigger writes to.
pub const CHANNEL: &str = "rc_session_changes";
/// Where rights changes are announced (by triggers, and by [`announce_rights_change`]).
pub const RIGHTS_CHANNEL: &str = "rc_rights_changes";

/// Somebody's rights changed, or a session was deleted, somewhere: open connections concerned
/// should check their caller again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RightsNotice {
    User(Uuid),
    SessionDeleted(Uuid),
}

#[derive(Debug, Deserialize)]
struct RightsPayload {
    user_id: Uuid,
}

/// Tells every api process that `user`'s rights changed (for changes no trigger sees: a
/// logout removes a login session from Redis).
pub async fn announce_rights_change(db: &PgPool, user: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, json_build_object('user_id', $2::uuid)::text)")
        .bind(RIGHTS_CHANNEL)
        .bind(user)
        .execute(db)
        .await
        .map(|_| ())
}

/// Notifications queued per follower before it counts as behind (and is told to resync).
const FOLLOWER_BACKLOG: usize = 1024;
/// How often the process NOTIFYs itself, so a dead LISTEN connection is noticed.
const HEARTBEAT: Duration = Duration::from_secs(20);
/// Silence after which the LISTEN connection counts as lost (two heartbeats missed).
const SILENT_FOR: Duration = Duration::from_secs(45);
/// A LISTEN connection that lived this long resets the reconnect back-off.
const STABLE_AFTER: Duration = Duration::from_secs(30);
const HEARTBEAT_PAYLOAD: &str = "heartbeat";

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
    rights: broadcast::Sender<RightsNotice>,
    /// Whether the listener is connected and LISTENing now.
    listening: Arc<AtomicBool>,
}

impl Default for SessionChangeHub {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(FOLLOWER_BACKLOG).0,
            rights: broadcast::channel(FOLLOWER_BACKLOG).0,
            listening: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl SessionChangeHub {
    /// Starts the listener on the current runtime (the process's main one: a task spawned
    /// from a request would die with its worker). It holds one connection of its own, not
    /// one of `db`'s, and stops when `stop` resolves.
    pub fn start(
        &self,
        db: &PgPool,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        // Same server and credentials as the application's pool: one connection to listen
        // on, one for the heartbeat.
        let own = PgPoolOptions::new()
            .max_connections(2)
            .connect_lazy_with((*db.connect_options()).clone());
        let listener = listen(
            own.clone(),
            self.tx.clone(),
            self.rights.clone(),
            self.listening.clone(),
        );
        tokio::spawn(async move {
            tokio::select! {
                () = listener => {}
                () = heartbeat(own) => {}
                () = stop => {}
            }
        })
    }

    /// Rights changes heard from the database (any process's).
    pub fn rights(&self) -> broadcast::Receiver<RightsNotice> {
        self.rights.subscribe()
    }

    /// A new follower's updates. Subscribed before looking at `listening`: a connection made
    /// in between announces itself to this follower too (at worst it hears two resyncs).
    fn subscribe(&self) -> (broadcast::Receiver<Update>, bool) {
        let rx = self.tx.subscribe();
        (rx, self.listening.load(Ordering::SeqCst))
    }
}

/// Clears `listening` however the connection's loop ends (error, stop, panic).
struct Listening(Arc<AtomicBool>);

impl Drop for Listening {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// Keeps one LISTEN connection, re-established after any failure and each time followed by
/// a `Resync`. A connection that delivers nothing — not even the heartbeat this process
/// sends itself every [`HEARTBEAT`] — for [`SILENT_FOR`] counts as lost: a half-open TCP
/// connection (a NAT or load balancer dropped it) would otherwise wait forever while changes
/// go unheard.
async fn listen(
    db: PgPool,
    tx: broadcast::Sender<Update>,
    rights: broadcast::Sender<RightsNotice>,
    listening: Arc<AtomicBool>,
) {
    let mut pause = Duration::from_millis(100);
    loop {
        let mut listener = match connect(&db).await {
            Ok(listener) => listener,
            Err(err) => {
                tracing::warn!(%err, ?pause, "cannot listen for session changes; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(10));
                continue;
            }
        };
        let connected = tokio::time::Instant::now();
        let flag = Listening(listening.clone());
        flag.0.store(true, Ordering::SeqCst);
        let _ = tx.send(Update::Resync);
        loop {
            // Cancelling a read leaves the connection unusable, which is fine: it is dropped.
            match tokio::time::timeout(SILENT_FOR, listener.try_recv()).await {
                Ok(Ok(Some(notification))) => {
                    let payload = notification.payload();
                    if payload == HEARTBEAT_PAYLOAD {
                        continue;
                    }
                    if notification.channel() == RIGHTS_CHANNEL {
                        match serde_json::from_str::<RightsPayload>(payload) {
                            Ok(p) => {
                                let _ = rights.send(RightsNotice::User(p.user_id));
                            }
                            Err(err) => tracing::warn!(%err, payload, "unreadable rights change"),
                        }
                        continue;
                    }
                    match serde_json::from_str::<Notice>(payload) {
                        Ok(notice) => {
                            if notice.deleted {
                                let _ =
                                    rights.send(RightsNotice::SessionDeleted(notice.session_id));
                            }
                            let _ = tx.send(Update::Changed(notice));
                        }
                        Err(err) => tracing::warn!(%err, payload, "unreadable session change"),
                    }
                }
                Ok(Ok(None)) | Ok(Err(_)) => break,
                Err(_) => {
                    tracing::warn!(silent_for = ?SILENT_FOR, "the session-change listener heard nothing, not even its heartbeat; reconnecting");
                    break;
                }
            }
        }
        drop(flag);
        // A connection that keeps dying at once must not make every follower re-read its
        // list ten times a second: back off unless it had lived a while.
        if connected.elapsed() < STABLE_AFTER {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(10));
        } else {
            pause = Duration::from_millis(100);
        }
    }
}

/// NOTIFYs the channel every [`HEARTBEAT`] through a connection of its own, so the listener
/// can tell a quiet connection from a dead one.
async fn heartbeat(db: PgPool) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    loop {
        tick.tick().await;
        if let Err(err) = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(HEARTBEAT_PAYLOAD)
            .execute(&db)
            .await
        {
            tracing::debug!(%err, "session-change heartbeat not sent");
        }
    }
}

async fn connect(db: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(db).await?;
    // Reconnecting is done here, explicitly, so that every new connection is followed by a
    // `Resync`.
    listener.eager_reconnect(false);
    listener.listen_all([CHANNEL, RIGHTS_CHANNEL]).await?;
    Ok(listener)
}

/// Which of the organisation's sessions a caller may hear about: all, or one owner's
/// (members). It can change while a follower is open (a role change); see [`follow`].
pub fn scope_of(granted: &Granted<perm::SessionsRead>) -> Option<Uuid> {
    (!granted.sees_all_sessions()).then_some(granted.user_id)
}

/// The caller's session list changes: a `resync` first (once changes are being heard, so a
/// list read after it misses nothing), then each change to a session in `scope` (see
/// [`scope_of`]), as it commits. When `scope` changes (the caller's role changed), a
/// `resync`: the list they may read is another one now.
pub fn follow(
    domain: &Domain,
    granted: &Granted<perm::SessionsRead>,
    scope: watch::Receiver<Option<Uuid>>,
) -> impl Stream<Item = SessionChange> + Send + 'static {
    let (rx, listening) = domain.session_changes.subscribe();
    let org = granted.org_id;
    let live = domain.live.clone();
    let first = futures::stream::iter(listening.then(SessionChange::missed));
    let rest = futures::stream::unfold((rx, scope), move |(mut rx, mut scope)| async move {
        loop {
            let update = tokio::select! {
                update = rx.recv() => update,
                changed = scope.changed() => {
                    if changed.is_err() {
                        // The connection that set the scope is gone.
                        return None;
                    }
                    return Some((SessionChange::missed(), (rx, scope)));
                }
            };
            let change = match update {
                Ok(Update::Changed(notice)) => {
                    let owner = *scope.borrow();
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
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            return Some((change, (rx, scope)));
        }
    });
    // Ends when the api shuts down, like the events feed (its WebSocket then closes with
    // 1012, and the client reconnects elsewhere).
    futures::StreamExt::take_until(futures::StreamExt::chain(first, rest), async move {
        live.closed().await
    })
}
