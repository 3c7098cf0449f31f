//! Shared by the test binaries; each uses a different subset.
#![allow(dead_code)]

use fake_anthropic::{Config, FakeAnthropic};
use serde_json::Value;
use std::time::Duration;

/// Bound on every HTTP call in tests: a hung server fails the test instead of stalling CI.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// A fake server on a free port, stopped when dropped.
pub struct Fake {
    pub base: String,
    pub client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Binds before returning, so the server accepts connections at once (the kernel queues them
/// until the accept loop runs): no readiness polling needed.
pub fn start() -> Fake {
    // Logs only with TEST_LOG set, like the services' tests.
    rc_telemetry::init_for_test();
    let config = Config {
        port: 0,
        workers: 1,
        ..Config::default()
    };
    let server = FakeAnthropic::bind(&config).expect("bind on a free port");
    let base = server.base_url();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run_until_stopped(async move {
        let _ = rx.await;
    }));
    let client = reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .build()
        .expect("client");
    Fake {
        base,
        client,
        stop: Some(tx),
    }
}

impl Fake {
    pub async fn requests(&self) -> Vec<Value> {
        self.client
            .get(format!("{}/_fake/requests", self.base))
            .send()
            .await
            .expect("GET /_fake/requests")
            .json()
            .await
            .expect("request log JSON")
    }

    /// POST /v1/messages with one user message.
    pub async fn ask(&self, prompt: &str, stream: bool) -> reqwest::Response {
        self.post_messages(&serde_json::json!({
            "model": "claude-test-model",
            "max_tokens": 1024,
            "stream": stream,
            "tools": tools(),
            "messages": [{"role": "user", "content": prompt}],
        }))
        .await
    }

    pub async fn post_messages(&self, body: &Value) -> reqwest::Response {
        self.client
            .post(format!("{}/v1/messages?beta=true", self.base))
            .header("x-api-key", "sk-ant-fake-test-key-0123456789")
            .header("anthropic-version", "2023-06-01")
            .json(body)
            .send()
            .await
            .expect("POST /v1/messages")
    }
}

/// Minimal stand-ins for the tools the CLI offers (the fake only checks that some are offered).
pub fn tools() -> Value {
    serde_json::json!(["Bash", "Write", "Edit", "Read", "TodoWrite"]
        .iter()
        .map(|name| serde_json::json!({"name": name, "input_schema": {"type": "object"}}))
        .collect::<Vec<_>>())
}

/// Parses an SSE body into `(event name, data JSON)` pairs, checking that each `event:` line's
/// name matches the data's `type` as the real API guarantees.
pub fn sse_events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter(|frame| !frame.trim().is_empty())
        .map(|frame| {
            let mut name = None;
            let mut data = None;
            for line in frame.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    name = Some(v.to_owned());
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data = Some(serde_json::from_str::<Value>(v).expect("data is JSON"));
                }
            }
            let (name, data) = (name.expect("event line"), data.expect("data line"));
            assert_eq!(data["type"], name.as_str(), "event name matches data type");
            (name, data)
        })
        .collect()
}
