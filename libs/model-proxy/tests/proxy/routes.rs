//! Only the two message endpoints get through.

use crate::helpers::{anthropic_error, cli_request, plain_client, start, Setup};
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn other_paths_and_methods_get_anthropic_shaped_errors_and_never_reach_upstream() {
    let h = start(Setup::default()).await;
    let client = plain_client();
    let cases = [
        (Method::GET, "/v1/models", 404, "not_found_error"),
        (Method::POST, "/v1/files", 404, "not_found_error"),
        (Method::POST, "/v1/complete", 404, "not_found_error"),
        (
            Method::POST,
            "/sess/abc/v1/messages",
            404,
            "not_found_error",
        ),
        (Method::GET, "/v1/messages", 405, "invalid_request_error"),
        (
            Method::DELETE,
            "/v1/messages/count_tokens",
            405,
            "invalid_request_error",
        ),
    ];
    for (method, path, status, kind) in cases {
        let response = client
            .request(method.clone(), h.url(path))
            .header("x-api-key", "sk-ant-dummy")
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), status, "{method} {path}");
        if status == 405 {
            assert_eq!(response.headers()["allow"], "POST");
        }
        let message = anthropic_error(response, kind).await;
        assert!(message.contains(path), "{message}");
    }
    // The CLI's connectivity check has no body to inspect, only the status.
    let hello = client.head(h.url("/api/hello")).send().await.expect("HEAD");
    assert_eq!(hello.status().as_u16(), 404);

    assert!(h.upstream_requests().await.is_empty());
}

#[tokio::test]
async fn count_tokens_is_forwarded_and_not_metered() {
    let h = start(Setup {
        // Not limited either: a limit of 1 would refuse the second call otherwise.
        requests_per_minute: 1,
        ..Setup::default()
    })
    .await;
    let client = plain_client();
    for _ in 0..2 {
        let response = cli_request(&client, &h.url("/v1/messages/count_tokens?beta=true"))
            .json(&json!({
                "model": "claude-test-model",
                "messages": [{"role": "user", "content": "how many tokens is this?"}],
            }))
            .send()
            .await
            .expect("count_tokens");
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("JSON");
        assert!(
            body["input_tokens"].as_u64().is_some_and(|n| n > 0),
            "{body}"
        );
    }
    drop(client);
    h.settle().await;

    let requests = h.upstream_requests().await;
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0]["path"], "/v1/messages/count_tokens");
    assert_eq!(requests[0]["query"], "beta=true");
    assert_eq!(requests[0]["headers"]["x-api-key"], "sk-ant-r***");
    assert!(h.usage_rows().await.is_empty());
}
