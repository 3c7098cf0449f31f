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
use tokio::sync::{mpsc, oneshot};

/// Events held while Redis is away; older ones are dropped (followers read them from
/// Postgres when they notice the gap).
const MAX_PENDING: usize = rc_domain::live::MAX_LEN;
/// Events per Redis round trip.
const PUBLISH_BATCH: usize = 256;

enum Message {
    Events(Vec<SessionEvent>),
    /// Answered once everything queued before it is published (or dropped).
    Flush(oneshot::Sender<()>),
    /// Drops what is queued after `through` and takes numbers after it again: the actor
    /// settled owed numbers differently from what it had sent early.
    Rebase {
        through: i64,
    },
}

#[derive(Clone)]
pub struct LivePublisher {
    tx: mpsc::UnboundedSender<Message>,
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
            let _ = self.tx.send(Message::Events(events));
        }
    }

    /// Resolves once everything sent so far reached Redis (or was dropped), or after
    /// `bound`; false on the bound.
    pub async fn flush(&self, bound: Duration) -> bool {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).is_err() {
            return true;
        }
        matches!(tokio::time::timeout(bound, wait).await, Ok(Ok(())))
    }

    /// See [`Message::Rebase`].
    pub fn rebase(&self, through: i64) {
        let _ = self.tx.send(Message::Rebase { through });
    }
}

/// The publisher's queue: what is waiting for Redis, and who waits for it to drain.
struct Queue {
    pending: VecDeque<SessionEvent>,
    /// The highest sequence number queued so far.
    queued: i64,
    /// Flush requests with the highest number queued when they came.
    flushes: Vec<(i64, oneshot::Sender<()>)>,
}

impl Queue {
    fn take(&mut self, message: Message) {
        match message {
            Message::Events(events) => {
                for event in events {
                    if event.seq > self.queued {
                        self.queued = event.seq;
                        self.pending.push_back(event);
                    }
                }
            }
            Message::Flush(done) => self.flushes.push((self.queued, done)),
            Message::Rebase { through } => {
                self.pending.retain(|e| e.seq <= through);
                self.queued = through;
            }
        }
    }

    /// Answers the flushes whose events are all out of the queue.
    fn answer_flushes(&mut self) {
        let front = self.pending.front().map_or(i64::MAX, |e| e.seq);
        for (mark, done) in std::mem::take(&mut self.flushes) {
            if mark < front {
                let _ = done.send(());
            } else {
                self.flushes.push((mark, done));
            }
        }
    }
}

async fn run(redis: Pool, key: String, mut rx: mpsc::UnboundedReceiver<Message>) {
    let mut queue = Queue {
        pending: VecDeque::new(),
        queued: 0,
        flushes: Vec::new(),
    };
    let mut pause = Duration::from_millis(100);
    let mut failures = 0u32;
    let mut closed = false;
    loop {
        queue.answer_flushes();
        if queue.pending.is_empty() {
            match rx.recv().await {
                Some(message) => queue.take(message),
                None => return,
            }
        }
        loop {
            match rx.try_recv() {
                Ok(message) => queue.take(message),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    closed = true;
                    break;
                }
            }
        }
        if queue.pending.len() > MAX_PENDING {
            let dropped = queue.pending.len() - MAX_PENDING;
            queue.pending.drain(..dropped);
            metrics::counter!("rc_live_events_dropped_total").increment(dropped as u64);
        }
        if queue.pending.is_empty() {
            continue;
        }
        let batch: Vec<SessionEvent> = queue.pending.iter().take(PUBLISH_BATCH).cloned().collect();
        let published = async {
            let mut conn = redis.get().await.map_err(|e| e.to_string())?;
            rc_domain::live::publish(&mut conn, &key, &batch)
                .await
                .map_err(|e| e.to_string())
        }
        .await;
        match published {
            Ok(()) => {
                queue.pending.drain(..batch.len());
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
                tracing::warn!(%key, %err, ?pause, pending = queue.pending.len(), "cannot publish live events, retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
    }
}
