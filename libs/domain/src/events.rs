//! A session's events: history from Postgres and the live follow that REST, the WebSocket
//! and the GraphQL subscription all share.
//!
//! The follow guarantees that a client resuming after sequence number `N` receives `N+1,
//! N+2, …` exactly once and in order, whatever happened meanwhile (api restart, Redis
//! restart, a lost publish, a slow client): Postgres holds every committed event, and the
//! live stream only says "something new is there". The rule is simple: emit only `last+1`;
//! anything that does not fit is fetched from Postgres.

use crate::live::{LiveHub, LiveItem};
use crate::{sessions, Domain};
use futures::Stream;
use rc_auth::{perm, Granted};
use rc_errors::{AppError, AppResult};
use rc_events::{EventBody, SessionEvent};
use sqlx::PgPool;
use std::time::Duration;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Largest page of history one request returns.
pub const MAX_PAGE: i64 = 1000;
/// Events fetched per query while catching up.
const CATCH_UP_PAGE: i64 = 500;
/// A quiet follower checks Postgres this often anyway: the safety net for a publish that
/// failed after its commit with no later event to reveal the gap.
const IDLE_CHECK: Duration = Duration::from_secs(10);
/// Events buffered per follower before it stops reading (backpressure to Postgres reads;
/// live items it misses meanwhile are recovered from Postgres).
const FOLLOW_BUFFER: usize = 256;

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
/// last sequence number and loses nothing).
pub async fn follow(
    domain: &Domain,
    granted: &Granted<perm::SessionsRead>,
    session_id: Uuid,
    after_seq: i64,
) -> AppResult<impl Stream<Item = AppResult<SessionEvent>> + Send + 'static> {
    sessions::get(domain, granted, session_id).await?;
    if after_seq < 0 {
        return Err(AppError::validation("after_seq", "must be 0 or more"));
    }
    let (tx, rx) = mpsc::channel(FOLLOW_BUFFER);
    let follower = Follower {
        db: domain.db.clone(),
        hub: domain.live.clone(),
        org_id: granted.org_id,
        session_id,
        last: after_seq,
        tx,
    };
    tokio::spawn(follower.run());
    Ok(tokio_stream_from(rx))
}

fn tokio_stream_from<T: Send + 'static>(
    rx: mpsc::Receiver<T>,
) -> impl Stream<Item = T> + Send + 'static {
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|t| (t, rx)) })
}

struct Follower {
    db: PgPool,
    hub: LiveHub,
    org_id: Uuid,
    session_id: Uuid,
    /// The last sequence number handed to the consumer.
    last: i64,
    tx: mpsc::Sender<AppResult<SessionEvent>>,
}

/// Why following stopped.
enum Stop {
    ConsumerGone,
    Failed(AppError),
}

impl Follower {
    async fn run(mut self) {
        let tx = self.tx.clone();
        let hub = self.hub.clone();
        let outcome = tokio::select! {
            outcome = self.follow() => outcome,
            () = tx.closed() => Stop::ConsumerGone,
            () = hub.closed() => Stop::ConsumerGone,
        };
        if let Stop::Failed(err) = outcome {
            let _ = tx.send(Err(err)).await;
        }
    }

    async fn follow(&mut self) -> Stop {
        // Subscribe first, then read Postgres: whatever commits after the subscription is
        // fixed arrives live; everything before is in the database.
        let mut live = self.hub.subscribe(self.session_id).await;
        if let Err(stop) = self.catch_up().await {
            return stop;
        }
        loop {
            let item = match tokio::time::timeout(IDLE_CHECK, live.recv()).await {
                Ok(Some(item)) => item,
                // The reader is gone (shutdown): the consumer's stream simply ends.
                Ok(None) => return Stop::ConsumerGone,
                Err(_) => LiveItem::Resync,
            };
            let result = match item {
                LiveItem::Event(event) if event.seq <= self.last => Ok(()),
                LiveItem::Event(event) if event.seq == self.last + 1 => {
                    self.emit((*event).clone()).await
                }
                // A gap (lost publish, trimmed stream) or a lost reader: Postgres has it all.
                LiveItem::Event(_) | LiveItem::Resync => self.catch_up().await,
            };
            if let Err(stop) = result {
                return stop;
            }
        }
    }

    async fn catch_up(&mut self) -> Result<(), Stop> {
        loop {
            let page = fetch(
                &self.db,
                self.org_id,
                self.session_id,
                self.last,
                CATCH_UP_PAGE,
            )
            .await
            .map_err(Stop::Failed)?;
            let full = page.len() as i64 == CATCH_UP_PAGE;
            for event in page {
                self.emit(event).await?;
            }
            if !full {
                return Ok(());
            }
        }
    }

    async fn emit(&mut self, event: SessionEvent) -> Result<(), Stop> {
        debug_assert_eq!(event.seq, self.last + 1);
        self.last = event.seq;
        self.tx
            .send(Ok(event))
            .await
            .map_err(|_| Stop::ConsumerGone)
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
