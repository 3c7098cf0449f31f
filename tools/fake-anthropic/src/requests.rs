//! The in-memory request log behind `GET /_fake/requests`: what the CLI or the proxy actually
//! sent, for tests to assert on.

use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

/// Headers whose values are credentials; only a prefix is kept, enough to tell which key
/// was sent (e.g. a proxy's injected key vs. the sandbox's dummy one).
const SECRET_HEADERS: [&str; 3] = ["x-api-key", "authorization", "proxy-authorization"];
const SECRET_PREFIX_CHARS: usize = 8;

#[derive(Debug, Clone, Serialize)]
pub struct LoggedRequest {
    /// 1-based arrival order; keeps counting when old entries are evicted or cleared.
    pub seq: u64,
    pub method: String,
    pub path: String,
    pub query: String,
    /// Lower-case names; repeated headers joined with `, `; credentials masked.
    pub headers: BTreeMap<String, String>,
    /// The JSON body, or the body as a string when it is not JSON (`null` when empty).
    pub body: Value,
    pub body_bytes: usize,
    /// The scenario label the server picked (`text`, `tool:Bash`, `count_tokens`, …).
    pub scenario: String,
    pub status: u16,
}

/// A bounded log: benchmarks send many large requests, so the oldest entries are dropped
/// once `capacity` is reached.
pub struct RequestLog {
    capacity: usize,
    inner: Mutex<Inner>,
}

struct Inner {
    next_seq: u64,
    entries: VecDeque<LoggedRequest>,
}

impl RequestLog {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Inner {
                next_seq: 1,
                entries: VecDeque::new(),
            }),
        }
    }

    /// Stores the entry (its `seq` is assigned here).
    pub fn push(&self, mut entry: LoggedRequest) {
        let mut inner = self.lock();
        entry.seq = inner.next_seq;
        inner.next_seq += 1;
        if self.capacity == 0 {
            return;
        }
        while inner.entries.len() >= self.capacity {
            inner.entries.pop_front();
        }
        inner.entries.push_back(entry);
    }

    pub fn snapshot(&self) -> Vec<LoggedRequest> {
        self.lock().entries.iter().cloned().collect()
    }

    pub fn clear(&self) {
        self.lock().entries.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the log inconsistent (every update is a
        // single push or pop), so a poisoned lock is still usable.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Header map for the log, credentials reduced to their first 8 characters plus `***`.
pub fn headers<'a>(pairs: impl Iterator<Item = (&'a str, &'a [u8])>) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in pairs {
        let name = name.to_ascii_lowercase();
        let mut value = String::from_utf8_lossy(value).into_owned();
        if SECRET_HEADERS.contains(&name.as_str()) {
            value = mask(&value);
        }
        map.entry(name)
            .and_modify(|existing| {
                existing.push_str(", ");
                existing.push_str(&value);
            })
            .or_insert(value);
    }
    map
}

fn mask(secret: &str) -> String {
    let prefix: String = secret.chars().take(SECRET_PREFIX_CHARS).collect();
    format!("{prefix}***")
}

/// The body as JSON when it parses, else as text.
pub fn body(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> LoggedRequest {
        LoggedRequest {
            seq: 0,
            method: "POST".into(),
            path: path.into(),
            query: String::new(),
            headers: BTreeMap::new(),
            body: Value::Null,
            body_bytes: 0,
            scenario: "text".into(),
            status: 200,
        }
    }

    #[test]
    fn credentials_are_masked_and_repeated_headers_joined() {
        let pairs: Vec<(&str, &[u8])> = vec![
            ("X-Api-Key", b"sk-ant-fake-0123456789"),
            ("Authorization", b"Bearer tok"),
            ("anthropic-beta", b"a"),
            ("anthropic-beta", b"b"),
            ("short", b"x"),
        ];
        let map = headers(pairs.into_iter());
        assert_eq!(map["x-api-key"], "sk-ant-f***");
        assert_eq!(map["authorization"], "Bearer t***");
        assert_eq!(map["anthropic-beta"], "a, b");
        assert_eq!(map["short"], "x");
    }

    #[test]
    fn log_is_bounded_and_keeps_counting_after_clear() {
        let log = RequestLog::new(2);
        for p in ["/a", "/b", "/c"] {
            log.push(entry(p));
        }
        let paths: Vec<(u64, String)> = log
            .snapshot()
            .into_iter()
            .map(|e| (e.seq, e.path))
            .collect();
        assert_eq!(paths, [(2, "/b".to_owned()), (3, "/c".to_owned())]);
        log.clear();
        assert!(log.snapshot().is_empty());
        log.push(entry("/d"));
        assert_eq!(log.snapshot()[0].seq, 4);
    }

    #[test]
    fn bodies_are_json_when_possible() {
        assert_eq!(body(b""), Value::Null);
        assert_eq!(body(b"{\"a\":1}")["a"], 1);
        assert_eq!(body(b"not json"), Value::String("not json".into()));
    }
}
