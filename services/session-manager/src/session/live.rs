//! Publishes a session's events to its live Redis Stream (format and readers:
//! `rc_domain::live`). One publisher task per session actor, so a slow or absent Redis
//! never holds up the actor: committed events are safe in Postgres, and followers fill any
//! gap from there. The actor sends display-only events before their commit and every event
//! again after it; each sequence number is published once. Order is kept; a failed publish
//! is retried with back-off.

use deadpool_redis::Pool;
use rc_events::SessionEvent;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::mpsc;

/// Events held while Redis is away; older ones are dropped (followers read them from
/// Postgres when they notice the gap).
const MAX_PENDING: usize = rc_domain::live::MAX_LEN;
/// Events per Redis round trip.
const PUBLISH_BATCH: usize = 256;

#[derive(Clone)]
pub struct LivePublisher {
    tx: mpsc::UnboundedSender<Vec<SessionEvent>>,
}

impl LivePublisher {
    pub fn spawn(redis: Pool, key: String) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(redis, key, rx));
        Self { tx }
    }

    /// Queues events in sequence order; those at or below the highest already queued are
    /// skipped (a committed batch repeats the events sent early).
    pub fn send(&self, events: Vec<SessionEvent>) {
        if !events.is_empty() {
            // The task only ends once every sender is gone.
            let _ = self.tx.send(events);
        }
    }
}

async fn run(redis: Pool, key: String, mut rx: mpsc::UnboundedReceiver<Vec<SessionEvent>>) {
    let mut pending: VecDeque<SessionEvent> = VecDeque::new();
    let mut pause = Duration::from_millis(100);
    let mut failures = 0u32;
    let mut closed = false;
    // The highest sequence number queued so far.
    let mut queued = 0i64;
    let mut enqueue = |pending: &mut VecDeque<SessionEvent>, events: Vec<SessionEvent>| {
        for event in events {
            if event.seq > queued {
                queued = event.seq;
                pending.push_back(event);
            }
        }
    };
    loop {
        if pending.is_empty() {
            match rx.recv().await {
                Some(events) => enqueue(&mut pending, events),
                None => return,
            }
        }
        loop {
            match rx.try_recv() {
                Ok(events) => enqueue(&mut pending, events),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    closed = true;
                    break;
                }
            }
        }
        if pending.len() > MAX_PENDING {
            let dropped = pending.len() - MAX_PENDING;
            pending.drain(..dropped);
            metrics::counter!("rc_live_events_dropped_total").increment(dropped as u64);
        }
        let batch: Vec<SessionEvent> = pending.iter().take(PUBLISH_BATCH).cloned().collect();
        let published = async {
            let mut conn = redis.get().await.map_err(|e| e.to_string())?;
            rc_domain::live::publish(&mut conn, &key, &batch)
                .await
                .map_err(|e| e.to_string())
        }
        .await;
        match published {
            Ok(()) => {
                pending.drain(..batch.len());
                metrics::counter!("rc_live_events_published_total").increment(batch.len() as u64);
                pause = Duration::from_millis(100);
                failures = 0;
            }
            Err(_) if closed && failures >= 5 => {
                // The session's actor is gone and Redis stays away: followers get these
                // from Postgres.
                return;
            }
            Err(err) => {
                failures += 1;
                tracing::warn!(%key, %err, ?pause, pending = pending.len(), "cannot publish live events, retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
    }
}
