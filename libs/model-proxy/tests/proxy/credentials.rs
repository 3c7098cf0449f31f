//! The sandbox's dummy credentials never leave the proxy; the configured one is sent instead.
//! (The fake's request log keeps the first 8 characters of credential headers.)

use crate::helpers::{plain_client, start, Setup};
use serde_json::Value;

async fn upstream_headers(setup: Setup) -> serde_json::Map<String, Value> {
    let h = start(setup).await;
    let client = plain_client();
    let response = h.ask_with(&client, "[[text]]", false).await;
    assert_eq!(response.status(), 200);
    response.bytes().await.expect("body");
    let requests = h.upstream_requests().await;
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0]["path"], "/v1/messages");
    assert_eq!(requests[0]["query"], "beta=true");
    let headers = requests[0]["headers"]
        .as_object()
        .expect("header map")
        .clone();
    for (name, value) in &headers {
        let value = value.as_str().unwrap_or_default();
        assert!(
            !value.contains("dummy") && !value.starts_with("Bearer t"),
            "sandbox credential reached upstream in {name}: {value}"
        );
    }
    headers
}

#[tokio::test]
async fn sandbox_credentials_are_replaced_by_the_configured_api_key() {
    let headers = upstream_headers(Setup {
        api_key: Some("sk-ant-real-proxy-key-0123456789"),
        ..Setup::default()
    })
    .await;
    assert_eq!(headers["x-api-key"], "sk-ant-r***");
    assert!(!headers.contains_key("authorization"));
    // The CLI's other headers pass unchanged.
    for (name, value) in [
        ("anthropic-version", "2023-06-01"),
        (
            "anthropic-beta",
            "claude-code-20250219,interleaved-thinking-2025-05-14",
        ),
        ("user-agent", "claude-cli/2.1.328 (external, sdk-cli)"),
        ("x-claude-code-session-id", "3f1c2a9e-cli-session"),
        ("x-app", "cli"),
        ("content-type", "application/json"),
    ] {
        assert_eq!(headers[name], value, "{name}");
    }
    assert!(
        !headers.contains_key("accept-encoding"),
        "responses must come back uncompressed to be metered"
    );
}

#[tokio::test]
async fn configured_auth_token_is_sent_as_bearer() {
    let headers = upstream_headers(Setup {
        api_key: None,
        auth_token: Some("zz-oauth-token-0123456789"),
        ..Setup::default()
    })
    .await;
    assert_eq!(headers["authorization"], "Bearer z***");
    assert!(!headers.contains_key("x-api-key"));
}

#[tokio::test]
async fn without_a_configured_credential_none_is_sent() {
    let headers = upstream_headers(Setup {
        api_key: None,
        auth_token: None,
        ..Setup::default()
    })
    .await;
    assert!(!headers.contains_key("x-api-key"));
    assert!(!headers.contains_key("authorization"));
}
