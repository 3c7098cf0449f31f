//! From a Messages API request to what the fake model answers: either a message (content
//! blocks, stop reason, usage, pacing) or an API error. Pure functions, so the HTTP layer only
//! encodes the result as SSE or JSON.

use crate::scenario::{self, Directive, ToolCall};
use serde_json::{json, Value};
use std::time::Duration;

/// Marks every text the fake produces, so nobody mistakes it for a real model's output.
pub const FAKE_SIGNATURE: &str = "scripted fake model (fake-anthropic)";
/// Model name used when the request names none.
pub const DEFAULT_MODEL: &str = "fake-anthropic";
/// Longest tool output quoted back in a summary; tool results can be megabytes.
const MAX_QUOTED_RESULT: usize = 2_000;
/// Longest per-message excerpt in an `[[echo]]` reply.
const MAX_ECHO_EXCERPT: usize = 500;

#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    Message(Reply),
    Error(ApiError),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// Echoes the request's `model`.
    pub model: String,
    pub blocks: Vec<Block>,
    pub stop_reason: &'static str,
    pub usage: Usage,
    /// Pause before each content delta after the first (only `[[slow]]` sets it).
    pub interval: Duration,
    /// End the stream with an SSE `error` event after the content instead of `message_delta`.
    pub stream_error: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// Text split into the deltas it is streamed as.
    Text(Vec<String>),
    Thinking {
        deltas: Vec<String>,
        signature: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
}

/// Deterministic token counts: tests compute the same numbers from what they sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
    pub retry_after: Option<u32>,
}

impl ApiError {
    /// The `error.type` the real API uses for this status.
    pub fn kind(&self) -> &'static str {
        error_type(self.status)
    }

    pub fn body(&self) -> Value {
        json!({
            "type": "error",
            "error": { "type": self.kind(), "message": self.message },
        })
    }
}

pub fn error_type(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        // 400 and any other client error.
        400..=499 => "invalid_request_error",
        _ => "api_error",
    }
}

/// `input_tokens` for a request body of `bytes` bytes: one token per 4 bytes, at least 1.
pub fn input_tokens(bytes: usize) -> u64 {
    (bytes as u64 / 4).max(1)
}

/// `output_tokens` for the generated content: one token per 4 bytes of text, thinking and
/// tool-input JSON, at least 1.
pub fn output_tokens(blocks: &[Block]) -> u64 {
    let bytes: usize = blocks
        .iter()
        .map(|block| match block {
            Block::Text(deltas) | Block::Thinking { deltas, .. } => {
                deltas.iter().map(String::len).sum()
            }
            Block::ToolUse { input, .. } => input.to_string().len(),
        })
        .sum();
    (bytes as u64 / 4).max(1)
}

/// Decides the reply to a `/v1/messages` request. The label names the scenario for logs.
pub fn plan(body: &Value, body_bytes: usize) -> (Plan, String) {
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        let error = ApiError {
            status: 400,
            message: "messages: field required (fake-anthropic)".to_owned(),
            retry_after: None,
        };
        return (Plan::Error(error), "invalid-request".to_owned());
    };
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_MODEL)
        .to_owned();
    let last_user = messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"));
    let content = last_user.and_then(|m| m.get("content"));

    // A tool_result means the client is completing an agent-loop step we started: finish the
    // loop with a summary, whatever else the message holds.
    let results = tool_results(content);
    let (blocks, stop_reason, interval, stream_error, label) = if !results.is_empty() {
        let text = summarise_results(&results, messages);
        (
            text_block(&text),
            "end_turn",
            Duration::ZERO,
            false,
            "tool-result".to_owned(),
        )
    } else {
        let prompt = text_of(content);
        match scenario::find(&prompt) {
            Ok(Directive::Error {
                status,
                retry_after,
            }) => {
                let error = ApiError {
                    status,
                    message: format!("Scripted error {status} from the {FAKE_SIGNATURE}"),
                    retry_after,
                };
                return (Plan::Error(error), format!("error:{status}"));
            }
            Ok(directive) => {
                let label = directive.to_string();
                let has_tools = body
                    .get("tools")
                    .and_then(Value::as_array)
                    .is_some_and(|tools| !tools.is_empty());
                let (blocks, stop, interval, stream_error) =
                    directive_reply(directive, messages, has_tools);
                (blocks, stop, interval, stream_error, label)
            }
            Err(err) => {
                let text = format!("The {FAKE_SIGNATURE} could not follow the prompt: {err}.");
                (
                    text_block(&text),
                    "end_turn",
                    Duration::ZERO,
                    false,
                    "bad-directive".to_owned(),
                )
            }
        }
    };
    let usage = Usage {
        input_tokens: input_tokens(body_bytes),
        output_tokens: output_tokens(&blocks),
    };
    let reply = Reply {
        model,
        blocks,
        stop_reason,
        usage,
        interval,
        stream_error,
    };
    (Plan::Message(reply), label)
}

type Content = (Vec<Block>, &'static str, Duration, bool);

fn directive_reply(directive: Directive, messages: &[Value], has_tools: bool) -> Content {
    let plain = |text: &str| (text_block(text), "end_turn", Duration::ZERO, false);
    match directive {
        Directive::Text => plain(&format!(
            "Hello! This reply comes from the {FAKE_SIGNATURE}, not from Claude."
        )),
        Directive::Echo => plain(&echo(messages)),
        Directive::Slow {
            deltas,
            interval_ms,
        } => {
            let chunks = (1..=deltas)
                .map(|i| format!("Slow chunk {i} of {deltas} from the {FAKE_SIGNATURE}. "))
                .collect();
            (
                vec![Block::Text(chunks)],
                "end_turn",
                Duration::from_millis(interval_ms),
                false,
            )
        }
        Directive::Lines { lines, per_delta } => {
            let all: Vec<String> = (1..=lines)
                .map(|i| format!("line {i} of {lines} from the {FAKE_SIGNATURE}\n"))
                .collect();
            let chunks = all.chunks(per_delta as usize).map(|c| c.concat()).collect();
            (vec![Block::Text(chunks)], "end_turn", Duration::ZERO, false)
        }
        Directive::Thinking => {
            let thinking = Block::Thinking {
                deltas: words(&format!(
                    "The {FAKE_SIGNATURE} is pretending to think about the request step by step."
                )),
                // Real signatures are opaque base64; clients store and send them back unread.
                signature: "ZmFrZS1hbnRocm9waWMgc2NyaXB0ZWQgdGhpbmtpbmcgc2lnbmF0dXJl".to_owned(),
            };
            let mut blocks = vec![thinking];
            blocks.extend(text_block(&format!(
                "Done thinking. This answer comes from the {FAKE_SIGNATURE}."
            )));
            (blocks, "end_turn", Duration::ZERO, false)
        }
        // A model cannot call tools the request does not offer (side requests such as title
        // generation send none); answer in text so those callers still get something sensible.
        Directive::Tool(call) if !has_tools => plain(&format!(
            "The {FAKE_SIGNATURE} was asked to call {} but the request offers no tools.",
            call.name
        )),
        Directive::Tool(ToolCall { name, input }) => {
            // Real models usually announce a tool call; a preceding text block also makes
            // clients handle a multi-block message with the tool_use at index 1.
            let mut blocks =
                text_block(&format!("The {FAKE_SIGNATURE} will call the {name} tool."));
            blocks.push(Block::ToolUse {
                id: format!("toolu_fake_{}", uuid::Uuid::new_v4().simple()),
                name,
                input,
            });
            (blocks, "tool_use", Duration::ZERO, false)
        }
        Directive::StreamError => (
            text_block(&format!(
                "The {FAKE_SIGNATURE} starts answering and then fails mid-stream."
            )),
            "end_turn",
            Duration::ZERO,
            true,
        ),
        // Handled by the caller before any content is generated.
        Directive::Error { .. } => plain("unreachable"),
    }
}

/// One text block split at word boundaries into three or so deltas, so clients see a real
/// multi-delta stream even for short replies.
fn text_block(text: &str) -> Vec<Block> {
    vec![Block::Text(words(text))]
}

fn words(text: &str) -> Vec<String> {
    let parts: Vec<&str> = text.split_inclusive(' ').collect();
    let per = parts.len().div_ceil(3).max(1);
    parts.chunks(per).map(|c| c.concat()).collect()
}

/// The text of a message's `content`: the string itself, or its text blocks joined by newlines.
pub fn text_of(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

struct ToolResult {
    tool_use_id: String,
    is_error: bool,
    text: String,
}

fn tool_results(content: Option<&Value>) -> Vec<ToolResult> {
    let Some(Value::Array(blocks)) = content else {
        return Vec::new();
    };
    blocks
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
        .map(|b| ToolResult {
            tool_use_id: b
                .get("tool_use_id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            is_error: b.get("is_error").and_then(Value::as_bool).unwrap_or(false),
            // tool_result content is a string or a list of text (and image) blocks.
            text: text_of(b.get("content")),
        })
        .collect()
}

fn summarise_results(results: &[ToolResult], messages: &[Value]) -> String {
    let mut text = format!("The {FAKE_SIGNATURE} received the tool results.");
    for result in results {
        let name = tool_name(messages, &result.tool_use_id).unwrap_or("unknown");
        text.push_str(&format!(
            "\n{name} result (is_error: {}): {}",
            result.is_error,
            truncate(&result.text, MAX_QUOTED_RESULT)
        ));
    }
    text
}

/// The tool name of the `tool_use` block with this id in the conversation so far.
fn tool_name<'a>(messages: &'a [Value], id: &str) -> Option<&'a str> {
    messages
        .iter()
        .filter_map(|m| m.get("content").and_then(Value::as_array))
        .flatten()
        .find(|b| {
            b.get("type").and_then(Value::as_str) == Some("tool_use")
                && b.get("id").and_then(Value::as_str) == Some(id)
        })
        .and_then(|b| b.get("name").and_then(Value::as_str))
}

fn echo(messages: &[Value]) -> String {
    let mut text = format!("The {FAKE_SIGNATURE} received {} messages:", messages.len());
    for (i, message) in messages.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str).unwrap_or("?");
        let summary = match message.get("content") {
            Some(Value::Array(blocks)) => blocks
                .iter()
                .map(|b| match b.get("type").and_then(Value::as_str) {
                    Some("text") => b
                        .get("text")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    Some("tool_use") => format!(
                        "[tool_use {}]",
                        b.get("name").and_then(Value::as_str).unwrap_or("?")
                    ),
                    Some(other) => format!("[{other}]"),
                    None => "[?]".to_owned(),
                })
                .collect::<Vec<_>>()
                .join(" "),
            other => text_of(other),
        };
        text.push_str(&format!(
            "\n{}. {role}: {}",
            i + 1,
            truncate(&summary, MAX_ECHO_EXCERPT)
        ));
    }
    text
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(messages: Value) -> Value {
        json!({
            "model": "claude-test-1",
            "max_tokens": 100,
            "tools": [{"name": "Bash", "input_schema": {"type": "object"}}],
            "messages": messages,
        })
    }

    fn message(plan: Plan) -> Reply {
        match plan {
            Plan::Message(reply) => reply,
            Plan::Error(err) => panic!("expected a message, got {err:?}"),
        }
    }

    fn full_text(reply: &Reply) -> String {
        reply
            .blocks
            .iter()
            .filter_map(|b| match b {
                Block::Text(deltas) => Some(deltas.concat()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn plain_prompt_gets_fake_text_echoing_the_model_with_deterministic_usage() {
        let body = request(json!([{"role": "user", "content": "hi"}]));
        let (plan, label) = plan(&body, 400);
        let reply = message(plan);
        assert_eq!(label, "text");
        assert_eq!(reply.model, "claude-test-1");
        assert_eq!(reply.stop_reason, "end_turn");
        assert!(full_text(&reply).contains(FAKE_SIGNATURE));
        assert_eq!(reply.usage.input_tokens, 100);
        assert_eq!(reply.usage.output_tokens, output_tokens(&reply.blocks));
    }

    #[test]
    fn only_the_last_user_message_picks_the_scenario() {
        let body = request(json!([
            {"role": "user", "content": "[[thinking]]"},
            {"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
            {"role": "user", "content": [{"type": "text", "text": "now [[slow:2:5]]"}]},
        ]));
        let (plan, label) = plan(&body, 10);
        assert_eq!(label, "slow:2:5");
        let reply = message(plan);
        assert_eq!(reply.interval, Duration::from_millis(5));
        assert!(matches!(&reply.blocks[..], [Block::Text(d)] if d.len() == 2));
    }

    #[test]
    fn image_blocks_are_accepted_and_the_text_picks_the_scenario() {
        let body = request(json!([{"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            {"type": "text", "text": "what is it [[slow:2:5]]"},
        ]}]));
        let (plan, label) = plan(&body, 10);
        assert_eq!(label, "slow:2:5");
        assert_eq!(message(plan).stop_reason, "end_turn");
    }

    #[test]
    fn tool_directive_yields_text_then_tool_use_and_stops_for_the_tool() {
        let body = request(json!([{"role": "user", "content": "[[tool:Bash:echo hi]]"}]));
        let reply = message(plan(&body, 10).0);
        assert_eq!(reply.stop_reason, "tool_use");
        let Block::ToolUse { id, name, input } = &reply.blocks[1] else {
            panic!("second block is the tool_use: {:?}", reply.blocks);
        };
        assert!(id.starts_with("toolu_"));
        assert_eq!(name, "Bash");
        assert_eq!(input["command"], "echo hi");
    }

    #[test]
    fn tool_directive_without_offered_tools_falls_back_to_text() {
        let body =
            json!({"model": "m", "messages": [{"role": "user", "content": "[[tool:Bash:ls]]"}]});
        let reply = message(plan(&body, 10).0);
        assert_eq!(reply.stop_reason, "end_turn");
        assert!(full_text(&reply).contains("offers no tools"));
    }

    #[test]
    fn tool_result_gets_a_summary_naming_the_tool_and_quoting_the_output() {
        let body = request(json!([
            {"role": "user", "content": "[[tool:Bash:echo hi]]"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "calling"},
                {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "echo hi"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "hi"}], "is_error": false},
            ]},
        ]));
        let (plan, label) = plan(&body, 10);
        assert_eq!(label, "tool-result");
        let reply = message(plan);
        assert_eq!(reply.stop_reason, "end_turn");
        assert!(
            full_text(&reply).ends_with("Bash result (is_error: false): hi"),
            "{}",
            full_text(&reply)
        );
    }

    #[test]
    fn error_directive_maps_status_to_the_anthropic_error_type() {
        let cases = [
            (429, "rate_limit_error", Some(1)),
            (529, "overloaded_error", Some(1)),
            (500, "api_error", None),
            (401, "authentication_error", None),
            (418, "invalid_request_error", None),
        ];
        for (status, kind, retry_after) in cases {
            let body = request(json!([{"role": "user", "content": format!("[[error:{status}]]")}]));
            let (Plan::Error(err), label) = plan(&body, 10) else {
                panic!("error plan for {status}");
            };
            assert_eq!(label, format!("error:{status}"));
            assert_eq!(err.status, status);
            assert_eq!(err.retry_after, retry_after, "{status}");
            assert_eq!(err.body()["error"]["type"], kind, "{status}");
            assert_eq!(err.body()["type"], "error");
        }
    }

    #[test]
    fn bad_directive_is_explained_in_text() {
        let body = request(json!([{"role": "user", "content": "[[slow:zero]]"}]));
        let (plan, label) = plan(&body, 10);
        assert_eq!(label, "bad-directive");
        assert!(full_text(&message(plan)).contains("bad directive [[slow:zero]]"));
    }

    #[test]
    fn missing_messages_is_an_invalid_request() {
        let (plan, _) = plan(&json!({"model": "m"}), 10);
        assert!(matches!(plan, Plan::Error(ApiError { status: 400, .. })));
    }

    #[test]
    fn echo_lists_every_message() {
        let body = request(json!([
            {"role": "user", "content": "remember BANANA"},
            {"role": "system", "content": "env info"},
            {"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
            {"role": "user", "content": "[[echo]]"},
        ]));
        let text = full_text(&message(plan(&body, 10).0));
        assert!(text.contains("received 4 messages"), "{text}");
        assert!(text.contains("1. user: remember BANANA"), "{text}");
        assert!(text.contains("2. system: env info"), "{text}");
    }

    #[test]
    fn lines_are_chunked_per_delta() {
        let body = request(json!([{"role": "user", "content": "[[lines:25:10]]"}]));
        let reply = message(plan(&body, 10).0);
        let Block::Text(deltas) = &reply.blocks[0] else {
            panic!("text block");
        };
        assert_eq!(deltas.len(), 3);
        assert_eq!(deltas.concat().lines().count(), 25);
    }
}
