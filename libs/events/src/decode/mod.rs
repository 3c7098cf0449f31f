//! Claude Code stream-json output → [`EventBody`]s.
//!
//! The CLI prints one JSON object per line (claude-cli.md §1). Some lines only make sense with
//! what came before them: a streamed delta names a content-block index whose tool_use id was
//! announced earlier, and a turn's model-call count and cost need the lines since the last
//! `result`. So decoding is stateful, with one [`Decoder`] per Claude process.
//!
//! The rule: **every line yields at least one event**. Lines with nothing typed to say
//! (`system/status`, `message_start`, `control_response`, a brand-new line type, text that is
//! not JSON) become [`EventBody::Raw`] with the whole line, so a CLI upgrade can add output
//! without it being lost or breaking anything.

mod control;
mod message;
mod result;
mod stream;
mod system;

use crate::event::EventBody;
use serde_json::Value;

/// The output a [`EventBody::ToolResult`] keeps by default: enough for a UI preview; a Bash
/// command printing megabytes must not turn into megabyte-sized events.
pub const DEFAULT_MAX_TOOL_OUTPUT_BYTES: usize = 16 * 1024;

#[derive(Clone, Debug)]
pub struct DecoderConfig {
    /// Tool output longer than this is cut (on a character boundary) and marked `truncated`.
    pub max_tool_output_bytes: usize,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        Self {
            max_tool_output_bytes: DEFAULT_MAX_TOOL_OUTPUT_BYTES,
        }
    }
}

/// Decodes the output of one Claude process, line by line, in order.
#[derive(Clone, Debug, Default)]
pub struct Decoder {
    config: DecoderConfig,
    streams: stream::Streams,
    turn: result::TurnTracker,
}

impl Decoder {
    pub fn new(config: DecoderConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// For a process started with `--resume`: the CLI's `total_cost_usd` keeps counting from
    /// the stored conversation, so the per-turn cost fallback needs the last total seen
    /// before the restart. (Only used when a result lacks `model_usage_since_last_result`.)
    pub fn with_previous_total_cost(mut self, total_cost_usd: f64) -> Self {
        self.turn.set_previous_total_cost(total_cost_usd);
        self
    }

    /// Decodes one output line (without its newline). Never fails and never returns an empty
    /// list.
    pub fn decode(&mut self, line: &str) -> Vec<EventBody> {
        let Ok(value) = serde_json::from_str::<Value>(line) else {
            return vec![EventBody::Raw {
                line_type: "text".into(),
                payload: Value::String(line.to_owned()),
            }];
        };
        let events = match str_at(&value, "type") {
            Some("stream_event") => self.streams.decode(&value, &mut self.turn),
            Some("assistant") => {
                let index = self.streams.open_block(&value);
                message::assistant(&value, index, &mut self.turn)
            }
            Some("user") => message::user(&value, &self.config),
            Some("system") => system::decode(&value),
            Some("control_request") => control::request(&value),
            Some("control_cancel_request") => control::cancel(&value),
            Some("result") => vec![self.turn.complete(&value)],
            _ => Vec::new(),
        };
        if events.is_empty() {
            vec![raw(value)]
        } else {
            events
        }
    }
}

/// Keeps a line whole, named after its type (and subtype, where the CLI has one).
fn raw(value: Value) -> EventBody {
    let ty = str_at(&value, "type").unwrap_or("unknown");
    let sub = match ty {
        "stream_event" => value.get("event").and_then(|e| str_at(e, "type")),
        "control_request" => value.get("request").and_then(|r| str_at(r, "subtype")),
        "control_response" => value.get("response").and_then(|r| str_at(r, "subtype")),
        _ => str_at(&value, "subtype"),
    };
    let line_type = match sub {
        Some(sub) => format!("{ty}.{sub}"),
        None => ty.to_owned(),
    };
    EventBody::Raw {
        line_type,
        payload: value,
    }
}

fn str_at<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

fn string_at(value: &Value, key: &str) -> Option<String> {
    str_at(value, key).map(str::to_owned)
}

fn u64_at(value: &Value, key: &str) -> Option<u64> {
    value.get(key).and_then(Value::as_u64)
}

/// Small counts (attempts, indexes, statuses) that must fit their field; anything else is
/// treated as absent rather than wrapped.
fn num_at<T: TryFrom<u64>>(value: &Value, key: &str) -> Option<T> {
    u64_at(value, key).and_then(|n| T::try_from(n).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_without_a_typed_meaning_are_kept_raw() {
        let mut decoder = Decoder::default();
        assert_eq!(
            decoder.decode("Warning: something on stdout"),
            vec![EventBody::Raw {
                line_type: "text".into(),
                payload: Value::String("Warning: something on stdout".into())
            }]
        );
        let line = r#"{"type":"brand_new_line","x":1}"#;
        let events = decoder.decode(line);
        let [EventBody::Raw { line_type, payload }] = events.as_slice() else {
            panic!("not one raw event")
        };
        assert_eq!(line_type, "brand_new_line");
        assert_eq!(payload["x"], 1);
        for (line, expected) in [
            (
                r#"{"type":"system","subtype":"new_thing"}"#,
                "system.new_thing",
            ),
            (r#"{"no_type":true}"#, "unknown"),
            ("[1,2]", "unknown"),
            (
                r#"{"type":"control_request","request_id":"h","request":{"subtype":"hook_callback"}}"#,
                "control_request.hook_callback",
            ),
            (
                r#"{"type":"stream_event","event":{"type":"brand_new_event"}}"#,
                "stream_event.brand_new_event",
            ),
            // A known type whose shape is wrong still is not lost.
            (r#"{"type":"assistant","message":"??"}"#, "assistant"),
            (
                r#"{"type":"control_cancel_request"}"#,
                "control_cancel_request",
            ),
        ] {
            let events = decoder.decode(line);
            assert!(
                matches!(events.as_slice(), [EventBody::Raw { line_type, .. }] if line_type == expected),
                "{line} → {events:?}"
            );
        }
    }
}
