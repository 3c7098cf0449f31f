//! A session's events: history from Postgres and the live follow that REST, the WebSocket
//! and the GraphQL subscription all share.
//!
//! The follow guarantees that a client resuming after sequence number `N` receives `N+1,
//! N+2, …` exactly once and in order, whatever happened meanwhile (api restart, Redis
//! restart, a lost publish, a slow client). Postgres holds every committed event; the live
//! stream holds the recent ones, including events session-manager published before their
//! batch committed (`live` module). The rule is simple: emit only `last+1`; anything that
//! does not fit is fetched from Postgres, then from the stream for what Postgres does not
//! have yet.

pub use crate::live::SharedEvent;
use crate::live::{LiveHub, LiveItem, LiveSubscription};
use crate::{sessions, Domain};
use futures::Stream;
use rc_auth::{perm, Granted};
use rc_errors::{AppError, AppResult};
use rc_events::{EventBody, SessionEvent};
use sqlx::PgPool;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Largest page of history one request returns.
pub const MAX_PAGE: i64 = 1000;
/// Events fetched per query while catching up.
const CATCH_UP_PAGE: i64 = 500;
/// A quiet follower checks Postgres this often anyway: the safety net for a publish that
/// failed after its commit with no later event to reveal the gap.
const IDLE_CHECK: Duration = Duration::from_secs(10);

/// Events after `after_seq`, oldest first, at most `limit` (1-1000, default 200).
pub async fn history(
    domain: &Domain,
    granted: &Granted<perm::SessionsRead>,
    session_id: Uuid,
    after_seq: i64,
    limit: Option<i64>,
) -> AppResult<Vec<SessionEvent>> {
    sessions::get(domain, granted, session_id).await?;
    let limit = match limit {
        None => 200,
        Some(l) if (1..=MAX_PAGE).contains(&l) => l,
        Some(_) => {
            return Err(AppError::validation(
                "limit",
                format!("must be between 1 and {MAX_PAGE}"),
            ))
        }
    };
    if after_seq < 0 {
        return Err(AppError::validation("after_seq", "must be 0 or more"));
    }
    fetch(&domain.db, granted.org_id, session_id, after_seq, limit).await
}

/// Checks that the caller may watch the session, then follows its events after `after_seq`:
/// first the stored ones, then live ones as they happen. The stream ends when the api shuts
/// down or the consumer drops it; an error item ends it too (the client reconnects with its
/// last sequence number and loses nothing). Items are shared with the process's other
/// followers of the session and carry their JSON, so relaying one costs no serialisation.
pub async fn follow(
    domain: &Domain,
    granted: &Granted<perm::SessionsRead>,
    session_id: Uuid,
    after_seq: i64,
) -> AppResult<impl Stream<Item = AppResult<Arc<SharedEvent>>> + Send + 'static> {
    sessions::get(domain, granted, session_id).await?;
    if after_seq < 0 {
        return Err(AppError::validation("after_seq", "must be 0 or more"));
    }
    let follower = Follower {
        db: domain.db.clone(),
        hub: domain.live.clone(),
        org_id: granted.org_id,
        session_id,
        last: after_seq,
        live: None,
        ready: VecDeque::new(),
        behind: Behind::Postgres,
        ended: false,
    };
    // The consumer's own task drives the follower (no task and channel of its own): one hop
    // less per event and client, which counts with many clients on a busy turn.
    Ok(futures::stream::unfold(
        follower,
        |mut follower| async move { follower.next().await.map(|item| (item, follower)) },
    ))
}

struct Follower {
    db: PgPool,
    hub: LiveHub,
    org_id: Uuid,
    session_id: Uuid,
    /// The last sequence number handed to the consumer (or queued in `ready`).
    last: i64,
    /// Subscribed at the first poll.
    live: Option<LiveSubscription>,
    /// Caught-up events not yet taken by the consumer (at most a page).
    ready: VecDeque<Arc<SharedEvent>>,
    /// Where the next catch-up page comes from.
    behind: Behind,
    ended: bool,
}

/// Whether the follower is catching up, and from where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behind {
    /// Postgres may have events after `last`.
    Postgres,
    /// Postgres had no more; the live stream may (events published before their commit).
    Stream,
    /// Up to date: waiting for live items.
    No,
}

/// Why following stopped.
enum Stop {
    /// The api is shutting down: the consumer's stream simply ends.
    Closed,
    Failed(AppError),
}

impl Follower {
    /// The consumer's next item; `None` ends the stream.
    async fn next(&mut self) -> Option<AppResult<Arc<SharedEvent>>> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(Ok(event));
            }
            if self.ended {
                return None;
            }
            let hub = self.hub.clone();
            let step = tokio::select! {
                step = self.step() => step,
                () = hub.closed() => Err(Stop::Closed),
            };
            if let Err(stop) = step {
                self.ended = true;
                if let Stop::Failed(err) = stop {
                    return Some(Err(err));
                }
            }
        }
    }

    /// Subscribes (first), fetches one catch-up page, or waits for one live item.
    async fn step(&mut self) -> Result<(), Stop> {
        // Subscribe first, then read Postgres: whatever commits after the subscription is
        // fixed arrives live; everything before is in the database or the stream.
        let live = match &mut self.live {
            Some(live) => live,
            None => {
                self.live = Some(self.hub.subscribe(self.session_id).await);
                return Ok(());
            }
        };
        match self.behind {
            Behind::Postgres => return self.postgres_page().await,
            Behind::Stream => {
                self.stream_page().await;
                return Ok(());
            }
            Behind::No => {}
        }
        let item = match tokio::time::timeout(IDLE_CHECK, live.recv()).await {
            Ok(Some(item)) => item,
            // The reader is gone (shutdown).
            Ok(None) => return Err(Stop::Closed),
            Err(_) => LiveItem::Resync,
        };
        match item {
            LiveItem::Event(shared) if shared.event.seq <= self.last => {}
            LiveItem::Event(shared) if shared.event.seq == self.last + 1 => {
                self.push(shared);
            }
            // A gap (lost publish, trimmed stream, events published before this
            // subscription fixed its start) or a lost reader: Postgres and the stream have it
            // all (this very event included).
            LiveItem::Event(_) | LiveItem::Resync => self.behind = Behind::Postgres,
        }
        Ok(())
    }

    /// One page of what Postgres has after `last`.
    async fn postgres_page(&mut self) -> Result<(), Stop> {
        let page = fetch(
            &self.db,
            self.org_id,
            self.session_id,
            self.last,
            CATCH_UP_PAGE,
        )
        .await
        .map_err(Stop::Failed)?;
        if page.len() < CATCH_UP_PAGE as usize {
            self.behind = Behind::Stream;
        }
        for event in page {
            let shared =
                SharedEvent::new(event).map_err(|e| Stop::Failed(AppError::internal(e)))?;
            self.push(Arc::new(shared));
        }
        Ok(())
    }

    /// One page of what the live stream has after `last` (stops at a hole).
    async fn stream_page(&mut self) {
        let page = match self
            .hub
            .range(self.session_id, self.last, CATCH_UP_PAGE as usize)
            .await
        {
            Ok(page) => page,
            Err(err) => {
                // Postgres answered; what is only in the stream comes with the next live
                // item or idle check.
                tracing::debug!(session_id = %self.session_id, %err, "stream catch-up failed");
                self.behind = Behind::No;
                return;
            }
        };
        let full = page.len() == CATCH_UP_PAGE as usize;
        for shared in page {
            if shared.event.seq != self.last + 1 {
                self.behind = Behind::No;
                return;
            }
            self.push(shared);
        }
        if !full {
            self.behind = Behind::No;
        }
    }

    fn push(&mut self, shared: Arc<SharedEvent>) {
        debug_assert_eq!(shared.event.seq, self.last + 1);
        self.last = shared.event.seq;
        self.ready.push_back(shared);
    }
}

async fn fetch(
    db: &PgPool,
    org_id: Uuid,
    session_id: Uuid,
    after_seq: i64,
    limit: i64,
) -> AppResult<Vec<SessionEvent>> {
    let rows = sqlx::query!(
        "SELECT seq, task_id, kind, payload, created_at FROM session_events
         WHERE session_id = $1 AND org_id = $2 AND seq > $3 ORDER BY seq LIMIT $4",
        session_id,
        org_id,
        after_seq,
        limit
    )
    .fetch_all(db)
    .await?;
    let mut events = Vec::with_capacity(rows.len());
    for (expected, row) in (after_seq + 1..).zip(rows) {
        if row.seq != expected {
            // Sequence numbers are gap-free by construction (one writer per session, in
            // transactions); stop at a hole rather than deliver out of order.
            tracing::error!(%session_id, expected, found = row.seq, "gap in a session's event log");
            break;
        }
        let body = EventBody::from_row(&row.kind, row.payload).unwrap_or_else(|err| {
            tracing::warn!(%session_id, seq = row.seq, %err, "stored event does not decode");
            EventBody::Unknown
        });
        events.push(SessionEvent::new(
            row.seq,
            row.task_id,
            row.created_at,
            body,
        ));
    }
    Ok(events)
}
