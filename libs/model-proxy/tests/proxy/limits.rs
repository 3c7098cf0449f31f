//! Refusals happen before the upstream is called, in a shape the CLI shows to the user.

use crate::helpers::{anthropic_error, plain_client, start, Setup};

/// A port that was free a moment ago: nothing listens there.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds")
}

#[tokio::test]
async fn request_rate_over_the_limit_gets_429_without_calling_upstream() {
    const LIMIT: usize = 2;
    let h = start(Setup {
        requests_per_minute: LIMIT as u32,
        ..Setup::default()
    })
    .await;
    let client = plain_client();
    // Fixed one-minute windows: if a window boundary falls between requests, more than LIMIT
    // get through before the refusal, but never more than LIMIT per window.
    let mut allowed = 0;
    let refused = loop {
        let response = h.ask_with(&client, "[[text]]", true).await;
        if response.status() == 429 {
            break response;
        }
        assert_eq!(response.status(), 200);
        response.bytes().await.expect("body");
        allowed += 1;
        assert!(allowed <= 2 * LIMIT, "the limit never applied");
    };
    assert!(allowed >= LIMIT, "refused after {allowed} requests");
    let wait = retry_after(&refused);
    assert!((1..=60).contains(&wait), "retry-after {wait}");
    let message = anthropic_error(refused, "rate_limit_error").await;
    assert!(message.contains("2 requests per minute"), "{message}");

    assert_eq!(
        h.upstream_requests().await.len(),
        allowed,
        "the refused request reached upstream"
    );
}

/// The rate limit guards shared capacity, not money: without Redis, sessions keep working.
#[tokio::test]
async fn rate_limit_lets_requests_through_when_redis_is_down() {
    let h = start(Setup {
        requests_per_minute: 1,
        redis_url: Some(format!("redis://127.0.0.1:{}/0", free_port())),
        ..Setup::default()
    })
    .await;
    let client = plain_client();
    for _ in 0..2 {
        let response = h.ask_with(&client, "[[text]]", true).await;
        assert_eq!(response.status(), 200);
        response.bytes().await.expect("body");
    }
    assert_eq!(h.upstream_requests().await.len(), 2);
}

#[tokio::test]
async fn monthly_budget_counts_this_month_and_gets_429_without_calling_upstream() {
    let h = start(Setup {
        monthly_budget_micros: 1_000_000,
        ..Setup::default()
    })
    .await;
    // Spending from before this month does not count.
    h.add_spending(5_000_000, 40).await;
    let client = plain_client();
    let response = h.ask_with(&client, "[[text]]", true).await;
    assert_eq!(response.status(), 200);
    response.bytes().await.expect("body");

    h.add_spending(1_000_000, 0).await;
    let refused = h.ask_with(&client, "[[text]]", true).await;
    assert_eq!(refused.status(), 429);
    assert!(retry_after(&refused) >= 1);
    let message = anthropic_error(refused, "rate_limit_error").await;
    assert!(
        message.contains("monthly model budget of $1.00"),
        "{message}"
    );

    assert_eq!(h.upstream_requests().await.len(), 1);
}

#[tokio::test]
async fn unreachable_upstream_gets_502_without_leaking_the_key() {
    let port = free_port();
    let h = start(Setup {
        upstream_url: Some(format!("http://127.0.0.1:{port}")),
        ..Setup::default()
    })
    .await;
    let client = plain_client();
    let response = h.ask_with(&client, "[[text]]", true).await;
    assert_eq!(response.status(), 502);
    let message = anthropic_error(response, "api_error").await;
    assert!(!message.contains("sk-ant"), "{message}");
    assert!(!message.contains(&port.to_string()), "{message}");
    drop(client);
    h.settle().await;
    assert!(h.usage_rows().await.is_empty());
}
