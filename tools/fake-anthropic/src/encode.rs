//! Encodes a [`Reply`] the two ways the Messages API returns one: a complete JSON message, or
//! the SSE event sequence of a streamed message.

use crate::reply::{Block, Reply, FAKE_SIGNATURE};
use serde_json::{json, Value};
use std::time::Duration;

/// One SSE event and how long to wait before sending it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub delay: Duration,
    pub name: &'static str,
    pub data: Value,
}

impl Event {
    fn now(name: &'static str, data: Value) -> Self {
        Self {
            delay: Duration::ZERO,
            name,
            data,
        }
    }

    /// The wire form: `event: NAME\ndata: JSON\n\n`.
    pub fn to_sse(&self) -> String {
        format!("event: {}\ndata: {}\n\n", self.name, self.data)
    }
}

fn usage_json(reply: &Reply, output_tokens: u64) -> Value {
    json!({
        "input_tokens": reply.usage.input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output_tokens,
    })
}

/// The non-streaming response body.
pub fn message(reply: &Reply, id: &str) -> Value {
    let content: Vec<Value> = reply
        .blocks
        .iter()
        .map(|block| match block {
            Block::Text(deltas) => json!({ "type": "text", "text": deltas.concat() }),
            Block::Thinking { deltas, signature } => json!({
                "type": "thinking", "thinking": deltas.concat(), "signature": signature,
            }),
            Block::ToolUse { id, name, input } => json!({
                "type": "tool_use", "id": id, "name": name, "input": input,
            }),
        })
        .collect();
    json!({
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": reply.model,
        "content": content,
        "stop_reason": reply.stop_reason,
        "stop_sequence": null,
        "usage": usage_json(reply, reply.usage.output_tokens),
    })
}

/// The streamed response, in the real API's order: `message_start` (usage with input tokens,
/// output 1), `ping`, per block `content_block_start` / `content_block_delta`… /
/// `content_block_stop`, then `message_delta` (stop reason, final output tokens) and
/// `message_stop`.
pub fn events(reply: &Reply, id: &str) -> Vec<Event> {
    let mut events = vec![
        Event::now(
            "message_start",
            json!({
                "type": "message_start",
                "message": {
                    "id": id,
                    "type": "message",
                    "role": "assistant",
                    "model": reply.model,
                    "content": [],
                    "stop_reason": null,
                    "stop_sequence": null,
                    "usage": usage_json(reply, 1),
                },
            }),
        ),
        Event::now("ping", json!({ "type": "ping" })),
    ];
    let mut first_delta = true;
    let mut delta = |events: &mut Vec<Event>, index: usize, delta: Value| {
        let delay = if first_delta {
            Duration::ZERO
        } else {
            reply.interval
        };
        first_delta = false;
        events.push(Event {
            delay,
            name: "content_block_delta",
            data: json!({ "type": "content_block_delta", "index": index, "delta": delta }),
        });
    };
    for (index, block) in reply.blocks.iter().enumerate() {
        let start = match block {
            Block::Text(_) => json!({ "type": "text", "text": "" }),
            Block::Thinking { .. } => {
                json!({ "type": "thinking", "thinking": "", "signature": "" })
            }
            Block::ToolUse { id, name, .. } => {
                json!({ "type": "tool_use", "id": id, "name": name, "input": {} })
            }
        };
        events.push(Event::now(
            "content_block_start",
            json!({ "type": "content_block_start", "index": index, "content_block": start }),
        ));
        match block {
            Block::Text(deltas) => {
                for text in deltas {
                    delta(
                        &mut events,
                        index,
                        json!({ "type": "text_delta", "text": text }),
                    );
                }
            }
            Block::Thinking { deltas, signature } => {
                for thinking in deltas {
                    delta(
                        &mut events,
                        index,
                        json!({ "type": "thinking_delta", "thinking": thinking }),
                    );
                }
                delta(
                    &mut events,
                    index,
                    json!({ "type": "signature_delta", "signature": signature }),
                );
            }
            Block::ToolUse { input, .. } => {
                // Split the JSON across several deltas: clients must concatenate
                // `partial_json` before parsing, and this proves they do.
                for part in split3(&input.to_string()) {
                    delta(
                        &mut events,
                        index,
                        json!({ "type": "input_json_delta", "partial_json": part }),
                    );
                }
            }
        }
        events.push(Event::now(
            "content_block_stop",
            json!({ "type": "content_block_stop", "index": index }),
        ));
    }
    if reply.stream_error {
        events.push(Event::now(
            "error",
            json!({
                "type": "error",
                "error": {
                    "type": "overloaded_error",
                    "message": format!("Scripted mid-stream overload from the {FAKE_SIGNATURE}"),
                },
            }),
        ));
        return events;
    }
    events.push(Event::now(
        "message_delta",
        json!({
            "type": "message_delta",
            "delta": { "stop_reason": reply.stop_reason, "stop_sequence": null },
            "usage": { "output_tokens": reply.usage.output_tokens },
        }),
    ));
    events.push(Event::now(
        "message_stop",
        json!({ "type": "message_stop" }),
    ));
    events
}

/// Up to three non-empty pieces, cut at char boundaries.
fn split3(text: &str) -> Vec<&str> {
    let cut = |target: usize| {
        let mut i = target.min(text.len());
        while !text.is_char_boundary(i) {
            i += 1;
        }
        i
    };
    let (a, b) = (cut(text.len() / 3), cut(2 * text.len() / 3));
    [&text[..a], &text[a..b], &text[b..]]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::Usage;

    fn reply(blocks: Vec<Block>) -> Reply {
        Reply {
            model: "m".into(),
            blocks,
            stop_reason: "tool_use",
            usage: Usage {
                input_tokens: 7,
                output_tokens: 9,
            },
            interval: Duration::from_millis(100),
            stream_error: false,
        }
    }

    #[test]
    fn stream_follows_the_anthropic_event_order() {
        let r = reply(vec![
            Block::Text(vec!["a".into(), "b".into()]),
            Block::ToolUse {
                id: "toolu_1".into(),
                name: "Read".into(),
                input: json!({"file_path": "/tmp/ä/x"}),
            },
        ]);
        let events = events(&r, "msg_1");
        let names: Vec<&str> = events.iter().map(|e| e.name).collect();
        assert_eq!(
            names,
            [
                "message_start",
                "ping",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop",
            ]
        );
        // Only deltas after the first are paced.
        let delays: Vec<u128> = events.iter().map(|e| e.delay.as_millis()).collect();
        assert_eq!(delays, [0, 0, 0, 0, 100, 0, 0, 100, 100, 100, 0, 0, 0]);
        let json: String = events
            .iter()
            .filter_map(|e| e.data["delta"]["partial_json"].as_str())
            .collect();
        assert_eq!(
            serde_json::from_str::<Value>(&json).expect("json"),
            json!({"file_path": "/tmp/ä/x"})
        );
        assert_eq!(events[0].data["message"]["usage"]["input_tokens"], 7);
        assert_eq!(events[11].data["usage"]["output_tokens"], 9);
        assert_eq!(events[11].data["delta"]["stop_reason"], "tool_use");
    }

    #[test]
    fn sse_wire_format_has_event_and_data_lines() {
        let e = Event::now("ping", json!({"type": "ping"}));
        assert_eq!(e.to_sse(), "event: ping\ndata: {\"type\":\"ping\"}\n\n");
    }

    #[test]
    fn non_streaming_message_carries_full_blocks_and_usage() {
        let r = reply(vec![Block::Thinking {
            deltas: vec!["x".into(), "y".into()],
            signature: "sig".into(),
        }]);
        let m = message(&r, "msg_2");
        assert_eq!(
            m["content"],
            json!([{"type": "thinking", "thinking": "xy", "signature": "sig"}])
        );
        assert_eq!(m["usage"]["output_tokens"], 9);
        assert_eq!(m["model"], "m");
    }

    #[test]
    fn split3_never_cuts_inside_a_character() {
        for text in ["", "a", "ab", "äöü", "{\"k\":\"€€€€\"}"] {
            assert_eq!(split3(text).concat(), text);
        }
    }
}
