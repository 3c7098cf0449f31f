//! Responses come back as the upstream sent them, as it sends them, and are metered.

use crate::helpers::{
    self, plain_client, sse_events, start, test_cost, Setup, UsageRow, TEST_MODEL,
};
use serde_json::Value;

/// Message ids are random per response; everything else in a fake reply is deterministic.
fn without_message_ids(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find("msg_fake_") {
        out.push_str(&rest[..at]);
        out.push_str("msg_ID");
        let after = &rest[at + "msg_fake_".len()..];
        let id_len = after
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(after.len());
        rest = &after[id_len..];
    }
    out.push_str(rest);
    out
}

fn all_ok(outcomes: &[Result<(), String>]) {
    assert!(!outcomes.is_empty(), "no connection reached the proxy");
    for outcome in outcomes {
        assert_eq!(outcome, &Ok(()), "serve ended with an error");
    }
}

#[tokio::test]
async fn text_turn_streams_back_intact_and_records_usage() {
    let h = start(Setup::default()).await;
    let client = plain_client();
    let prompt = "Say hello [[text]]";
    let response = h.ask_with(&client, prompt, true).await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().expect("ascii");
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    assert!(
        response.headers().contains_key("request-id"),
        "upstream headers relayed"
    );
    let relayed = response.text().await.expect("body");
    drop(client);
    all_ok(&h.settle().await);

    // The same request straight to the fake model gives the same bytes.
    let direct = plain_client()
        .post(format!("{}/v1/messages?beta=true", h.fake.base))
        .json(&helpers::message_body(prompt, true))
        .send()
        .await
        .expect("direct request")
        .text()
        .await
        .expect("direct body");
    assert_eq!(without_message_ids(&relayed), without_message_ids(&direct));

    let events = sse_events(&relayed);
    let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names.first(), Some(&"message_start"));
    assert_eq!(names.last(), Some(&"message_stop"));
    assert!(names.contains(&"content_block_delta"));
    let input = events[0].1["message"]["usage"]["input_tokens"]
        .as_i64()
        .expect("input tokens");
    let output = events
        .iter()
        .find(|(name, _)| name == "message_delta")
        .and_then(|(_, data)| data["usage"]["output_tokens"].as_i64())
        .expect("final output tokens");
    assert!(input > 0 && output > 1);

    assert_eq!(
        h.usage_rows().await,
        vec![UsageRow {
            org_id: h.org_id,
            user_id: Some(h.user_id),
            session_id: Some(h.session_id),
            task_id: None,
            model: TEST_MODEL.into(),
            input_tokens: input,
            output_tokens: output,
            cache_creation_tokens: 0,
            cache_read_tokens: 0,
            cost_micros: test_cost(input, output),
        }]
    );
}

#[tokio::test]
async fn non_streamed_message_is_metered_from_the_json_body() {
    let h = start(Setup::default()).await;
    let client = plain_client();
    let response = h.ask_with(&client, "[[text]]", false).await;
    assert_eq!(response.status(), 200);
    let message: Value = response.json().await.expect("JSON message");
    drop(client);
    all_ok(&h.settle().await);

    let input = message["usage"]["input_tokens"].as_i64().expect("input");
    let output = message["usage"]["output_tokens"].as_i64().expect("output");
    let rows = h.usage_rows().await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (
            rows[0].input_tokens,
            rows[0].output_tokens,
            rows[0].cost_micros
        ),
        (input, output, test_cost(input, output))
    );
}

/// The first event reaches the client while the upstream is still writing: the proxy's
/// usage row, written when the client hangs up, shows that the proxy itself had not yet seen
/// the final `message_delta` (output tokens still at `message_start`'s 1). A buffering proxy
/// would have read the whole stream, final counts included, before sending anything.
#[tokio::test]
async fn stream_is_relayed_while_the_upstream_is_still_writing_and_a_hang_up_is_billed() {
    let h = start(Setup::default()).await;
    let client = plain_client();
    // 100 deltas 100 ms apart: the upstream needs ~10 s to finish.
    let mut response = h.ask_with(&client, "[[slow:100:100]]", true).await;
    assert_eq!(response.status(), 200);
    let mut received = String::new();
    while !received.contains("\n\n") {
        let chunk = response
            .chunk()
            .await
            .expect("chunk")
            .expect("stream still open");
        received.push_str(std::str::from_utf8(&chunk).expect("utf-8"));
    }
    assert!(received.starts_with("event: message_start"), "{received}");
    assert!(
        !received.contains("message_stop"),
        "whole stream arrived at once"
    );
    let first = sse_events(received.split("\n\n").next().expect("first event"));
    let input = first[0].1["message"]["usage"]["input_tokens"]
        .as_i64()
        .expect("input");

    // The user interrupts: the sandbox side hangs up mid-stream.
    drop(response);
    drop(client);
    all_ok(&h.settle().await);

    let rows = h.usage_rows().await;
    assert_eq!(rows.len(), 1, "the interrupted turn is billed: {rows:?}");
    assert_eq!(rows[0].input_tokens, input);
    assert_eq!(
        rows[0].output_tokens, 1,
        "the proxy had not seen the end of the upstream stream when the client got the first event"
    );
    assert_eq!(rows[0].cost_micros, test_cost(input, 1));
}

#[tokio::test]
async fn usage_is_attributed_to_the_task_running_at_request_time() {
    let h = start(Setup::default()).await;
    let (first, second) = (h.add_task().await, h.add_task().await);
    let client = plain_client();
    for task in [Some(first), Some(second), None] {
        h.task.send_replace(task);
        let response = h.ask_with(&client, "[[text]]", true).await;
        assert_eq!(response.status(), 200);
        response.text().await.expect("body");
    }
    drop(client);
    all_ok(&h.settle().await);

    let mut recorded: Vec<Option<uuid::Uuid>> = h
        .usage_rows()
        .await
        .into_iter()
        .map(|r| r.task_id)
        .collect();
    let mut expected = vec![Some(first), Some(second), None];
    recorded.sort();
    expected.sort();
    assert_eq!(recorded, expected);
}

#[tokio::test]
async fn upstream_errors_pass_through_and_write_no_usage() {
    let h = start(Setup::default()).await;
    let client = plain_client();
    let response = h.ask_with(&client, "[[error:529:7]]", true).await;
    assert_eq!(response.status(), 529);
    assert_eq!(response.headers()["retry-after"], "7");
    helpers::anthropic_error(response, "overloaded_error").await;
    drop(client);
    all_ok(&h.settle().await);
    assert!(h.usage_rows().await.is_empty());
}
