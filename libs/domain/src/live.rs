//! Live fan-out of session events through one Redis Stream per session.
//!
//! Postgres (`session_events`) is the history and the source of truth; the stream makes new
//! events reach watchers at once. The format is shared by both sides:
//!
//! * the writer is session-manager, the owner of a session's sequence: it appends each event
//!   with the entry id `<seq>-0` (so Redis itself refuses a duplicate or out-of-order entry)
//!   and the field `event` holding the [`SessionEvent`] JSON. Events that only display what
//!   the CLI printed (text, thinking, tool calls and results) are appended **as soon as
//!   session-manager has decoded them, before the batch they belong to commits**: a watcher
//!   sees them within a Redis round trip instead of after the batch's write. Events with a
//!   side effect in the database (an approval, the end of a task) are appended only after
//!   their commit. The stream is capped ([`MAX_LEN`], approximate trimming) and expires when
//!   a session has been quiet for [`TTL_SECS`] (docs/live-sessions.md, "early delivery");
//! * the readers are the api processes: [`LiveHub`] runs one reader per watched session per
//!   process (a blocking `XREAD` on its own connection) and broadcasts to that process's
//!   subscribers, so 20 browser tabs on one session cost one Redis reader, not 20. Each
//!   entry is parsed once and keeps its JSON ([`SharedEvent`]), so a process serialises an
//!   event once however many clients watch it.
//!
//! Readers never trust the stream to be complete (a publish can fail; the cap trims old
//! entries) nor Postgres to be current (the stream can be ahead of the commit): see
//! `events::follow` for how a subscriber fills every gap from both.

use deadpool_redis::redis::{self, Value as RedisValue};
use rc_events::SessionEvent;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

/// Entries kept per session stream (approximately). Watchers further behind catch up from
/// Postgres, so this only bounds memory.
pub const MAX_LEN: usize = 10_000;
/// A session stream disappears after this long without a new event.
pub const TTL_SECS: i64 = 7 * 24 * 3600;
/// The entry field holding the event JSON.
pub const FIELD: &str = "event";
/// Events one local broadcast holds for slow subscribers before they are told they lagged
/// (and resynchronise from Postgres).
const BROADCAST_CAPACITY: usize = 4096;
/// How long one `XREAD` blocks; bounds how late a reader notices its last subscriber left.
const BLOCK_MS: usize = 5_000;
/// Entries read per `XREAD`.
const READ_COUNT: usize = 512;
/// How long a catch-up read from the stream may take.
const RANGE_WAIT: Duration = Duration::from_secs(2);

/// The stream key of a session.
pub fn stream_key(prefix: &str, session_id: Uuid) -> String {
    format!("{prefix}:events:{session_id}")
}

/// Appends events to the session's stream, in order. Events at or below the
/// stream's last entry are skipped, so retrying a partly applied publish is harmless.
pub async fn publish<C>(conn: &mut C, key: &str, events: &[SessionEvent]) -> redis::RedisResult<()>
where
    C: redis::aio::ConnectionLike + Send,
{
    if events.is_empty() {
        return Ok(());
    }
    let mut pipe = redis::pipe();
    for event in events {
        let json = serde_json::to_string(event).map_err(|e| {
            redis::RedisError::from((redis::ErrorKind::TypeError, "event JSON", e.to_string()))
        })?;
        pipe.cmd("XADD")
            .arg(key)
            .arg("MAXLEN")
            .arg("~")
            .arg(MAX_LEN)
            .arg(format!("{}-0", event.seq))
            .arg(FIELD)
            .arg(json)
            .ignore();
    }
    pipe.cmd("EXPIRE").arg(key).arg(TTL_SECS).ignore();
    match pipe.query_async::<()>(conn).await {
        Ok(()) => Ok(()),
        // A retry after a partial success: drop what is already there and try once more.
        Err(err) if err.to_string().contains("equal or smaller") => {
            let last = last_seq(conn, key).await?;
            let rest: Vec<SessionEvent> = events.iter().filter(|e| e.seq > last).cloned().collect();
            if rest.len() == events.len() {
                return Err(err);
            }
            Box::pin(publish(conn, key, &rest)).await
        }
        Err(err) => Err(err),
    }
}

/// The stream's entries after `after_seq`, oldest first, at most `count`; unreadable entries
/// are skipped (and logged), so the caller sees a hole where one was.
pub async fn read_range<C>(
    conn: &mut C,
    key: &str,
    after_seq: i64,
    count: usize,
) -> redis::RedisResult<Vec<SharedEvent>>
where
    C: redis::aio::ConnectionLike + Send,
{
    let entries: Vec<(String, HashMap<String, RedisValue>)> = redis::cmd("XRANGE")
        .arg(key)
        // Exclusive start: the entry after `after_seq`.
        .arg(format!("({after_seq}-0"))
        .arg("+")
        .arg("COUNT")
        .arg(count)
        .query_async(conn)
        .await?;
    Ok(entries
        .into_iter()
        .filter_map(|(id, fields)| {
            let event = entry_event(&fields);
            if event.is_none() {
                tracing::warn!(%key, %id, "unreadable live event entry");
            }
            event
        })
        .collect())
}

/// The sequence number of the stream's last entry (0 when empty or missing).
pub async fn last_seq<C>(conn: &mut C, key: &str) -> redis::RedisResult<i64>
where
    C: redis::aio::ConnectionLike + Send,
{
    let newest: Vec<(String, HashMap<String, RedisValue>)> = redis::cmd("XREVRANGE")
        .arg(key)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async(conn)
        .await?;
    Ok(newest.first().and_then(|(id, _)| seq_of(id)).unwrap_or(0))
}

fn seq_of(entry_id: &str) -> Option<i64> {
    entry_id
        .split_once('-')
        .and_then(|(seq, _)| seq.parse().ok())
}

/// An event with its JSON, parsed and serialised once per api process, shared by every
/// subscriber that relays it.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedEvent {
    pub event: SessionEvent,
    /// `event` as JSON (the flat object of the REST history).
    pub json: Box<str>,
}

impl SharedEvent {
    /// From an event read from Postgres.
    pub fn new(event: SessionEvent) -> serde_json::Result<Self> {
        let json = serde_json::to_string(&event)?.into_boxed_str();
        Ok(Self { event, json })
    }

    /// From a stream entry's JSON, kept as it is.
    pub fn from_json(json: String) -> serde_json::Result<Self> {
        let event = serde_json::from_str(&json)?;
        Ok(Self {
            event,
            json: json.into_boxed_str(),
        })
    }
}

/// What a subscriber receives from its process's reader.
#[derive(Debug, Clone)]
pub enum LiveItem {
    Event(Arc<SharedEvent>),
    /// The reader lost Redis (or read garbage) and may have missed entries: check Postgres.
    Resync,
}

/// The per-process hub of session readers. Cheap to clone.
#[derive(Clone)]
pub struct LiveHub {
    inner: Arc<HubInner>,
}

struct HubInner {
    client: redis::Client,
    /// For `XRANGE` reads (catch-ups); dropped after an error and reopened on the next use.
    ranges: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
    prefix: String,
    feeds: Mutex<HashMap<Uuid, Weak<Feed>>>,
    shutdown: watch::Sender<bool>,
}

impl LiveHub {
    pub fn new(redis_url: &str, prefix: &str) -> redis::RedisResult<Self> {
        Ok(Self {
            inner: Arc::new(HubInner {
                client: redis::Client::open(redis_url)?,
                ranges: tokio::sync::Mutex::new(None),
                prefix: prefix.to_owned(),
                feeds: Mutex::new(HashMap::new()),
                shutdown: watch::channel(false).0,
            }),
        })
    }

    /// Ends every live subscription (the api is shutting down: open WebSockets close, so the
    /// server's graceful stop does not wait for them).
    pub fn close(&self) {
        let _ = self.inner.shutdown.send(true);
    }

    /// Resolves once [`LiveHub::close`] was called.
    pub async fn closed(&self) {
        let mut rx = self.inner.shutdown.subscribe();
        let _ = rx.wait_for(|closed| *closed).await;
    }

    /// Subscribes to a session's live events. Returns once the reader has fixed its starting
    /// point, so that every event committed before this returned is in Postgres and every
    /// later one arrives here (unless the stream lost it, which the subscriber detects by
    /// the sequence numbers).
    pub async fn subscribe(&self, session_id: Uuid) -> LiveSubscription {
        let feed = {
            let mut feeds = self.inner.feeds.lock().unwrap_or_else(|e| e.into_inner());
            feeds.retain(|_, feed| feed.strong_count() > 0);
            match feeds.get(&session_id).and_then(Weak::upgrade) {
                Some(feed) => feed,
                None => {
                    let feed = Feed::start(
                        self.inner.client.clone(),
                        stream_key(&self.inner.prefix, session_id),
                        self.inner.shutdown.subscribe(),
                    );
                    feeds.insert(session_id, Arc::downgrade(&feed));
                    feed
                }
            }
        };
        let rx = feed.tx.subscribe();
        let mut ready = feed.ready.subscribe();
        // Bounded: a reader that cannot reach Redis is still "ready" (it reports Resync).
        let _ = ready.wait_for(|r| *r).await;
        LiveSubscription { rx, _feed: feed }
    }

    /// The stream's entries after `after_seq`, oldest first, at most `count`. A catch-up
    /// reads here what Postgres does not have yet: events published before their commit.
    pub async fn range(
        &self,
        session_id: Uuid,
        after_seq: i64,
        count: usize,
    ) -> redis::RedisResult<Vec<Arc<SharedEvent>>> {
        let key = stream_key(&self.inner.prefix, session_id);
        // Bounded: a Redis that accepts connections but never answers must not freeze a
        // follower (it goes on with what Postgres has).
        let read = tokio::time::timeout(RANGE_WAIT, async {
            let mut slot = self.inner.ranges.lock().await;
            let mut conn = match slot.as_ref() {
                Some(conn) => conn.clone(),
                None => {
                    let conn = self.inner.client.get_multiplexed_async_connection().await?;
                    *slot = Some(conn.clone());
                    conn
                }
            };
            drop(slot);
            read_range(&mut conn, &key, after_seq, count).await
        })
        .await
        .unwrap_or_else(|_| {
            Err(redis::RedisError::from((
                redis::ErrorKind::IoError,
                "XRANGE timed out",
            )))
        });
        if read.is_err() {
            *self.inner.ranges.lock().await = None;
        }
        Ok(read?.into_iter().map(Arc::new).collect())
    }

    /// Sessions with a reader in this process (for metrics and tests).
    pub fn watched_sessions(&self) -> usize {
        let feeds = self.inner.feeds.lock().unwrap_or_else(|e| e.into_inner());
        feeds.values().filter(|f| f.strong_count() > 0).count()
    }
}

/// One subscriber's view of a session's reader; dropping the last one stops the reader.
pub struct LiveSubscription {
    rx: broadcast::Receiver<LiveItem>,
    _feed: Arc<Feed>,
}

impl LiveSubscription {
    /// The next item; `Resync` also when this subscriber fell behind the broadcast.
    pub async fn recv(&mut self) -> Option<LiveItem> {
        match self.rx.recv().await {
            Ok(item) => Some(item),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(LiveItem::Resync),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

struct Feed {
    tx: broadcast::Sender<LiveItem>,
    ready: watch::Sender<bool>,
    task: tokio::task::AbortHandle,
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Feed {
    fn start(client: redis::Client, key: String, shutdown: watch::Receiver<bool>) -> Arc<Self> {
        let (tx, _) = broadcast::channel(BROADCAST_CAPACITY);
        let (ready, _) = watch::channel(false);
        let task = tokio::spawn(read_stream(
            client,
            key,
            tx.clone(),
            ready.clone(),
            shutdown,
        ));
        Arc::new(Self {
            tx,
            ready,
            task: task.abort_handle(),
        })
    }
}

/// The reader: fixes the starting point (the stream's current last entry), then follows.
async fn read_stream(
    client: redis::Client,
    key: String,
    tx: broadcast::Sender<LiveItem>,
    ready: watch::Sender<bool>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut pause = Duration::from_millis(100);
    let mut last_id: Option<String> = None;
    let mut reconnecting = false;
    loop {
        let run = async {
            // Its own connection: a blocking XREAD would hold up anything sharing it.
            let mut conn = client.get_multiplexed_async_connection().await?;
            let start = match &last_id {
                Some(id) => id.clone(),
                None => format!("{}-0", last_seq(&mut conn, &key).await?),
            };
            last_id = Some(start);
            ready.send_replace(true);
            if reconnecting {
                // Entries may have come and gone (trimmed) while we were away.
                let _ = tx.send(LiveItem::Resync);
            }
            loop {
                let reply: Option<StreamReply> = redis::cmd("XREAD")
                    .arg("COUNT")
                    .arg(READ_COUNT)
                    .arg("BLOCK")
                    .arg(BLOCK_MS)
                    .arg("STREAMS")
                    .arg(&key)
                    .arg(last_id.as_deref().unwrap_or("0-0"))
                    .query_async(&mut conn)
                    .await?;
                for (_, entries) in reply.unwrap_or_default() {
                    for (id, fields) in entries {
                        match entry_event(&fields) {
                            Some(event) => {
                                let _ = tx.send(LiveItem::Event(Arc::new(event)));
                            }
                            None => {
                                tracing::warn!(%key, %id, "unreadable live event entry");
                                let _ = tx.send(LiveItem::Resync);
                            }
                        }
                        last_id = Some(id);
                    }
                }
                if tx.receiver_count() == 0 {
                    return Ok::<(), redis::RedisError>(());
                }
            }
        };
        tokio::select! {
            result = run => match result {
                Ok(()) => return,
                Err(err) => {
                    tracing::warn!(%key, %err, ?pause, "live event reader lost Redis, retrying");
                    // Subscribers fall back to Postgres meanwhile.
                    ready.send_replace(true);
                    let _ = tx.send(LiveItem::Resync);
                    reconnecting = true;
                }
            },
            _ = shutdown.wait_for(|closed| *closed) => {
                drop(tx);
                return;
            }
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = shutdown.wait_for(|closed| *closed) => return,
        }
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// The event of a stream entry, if it has a readable one.
fn entry_event(fields: &HashMap<String, RedisValue>) -> Option<SharedEvent> {
    let json = redis::from_redis_value::<String>(fields.get(FIELD)?).ok()?;
    SharedEvent::from_json(json).ok()
}

type StreamReply = Vec<(String, Vec<(String, HashMap<String, RedisValue>)>)>;
