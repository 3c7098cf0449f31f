//! `stream_event` lines (`--include-partial-messages`): the Anthropic SSE events, wrapped.
//!
//! Deltas only carry a content-block index; which tool call an index belongs to was said by
//! that block's `content_block_start`. The CLI prints the finished `assistant` line for a
//! block right after its last delta and before its `content_block_stop` (claude-cli.md §1.7),
//! so the block still open at that moment is the one the `assistant` line completes.

use super::result::TurnTracker;
use super::{num_at, str_at, string_at};
use crate::event::EventBody;
use serde_json::Value;
use std::collections::HashMap;

/// Per-stream state. The main conversation and each subagent (`parent_tool_use_id`) stream
/// their own messages, so each gets its own state.
#[derive(Clone, Debug, Default)]
pub(super) struct Streams {
    by_parent: HashMap<Option<String>, StreamState>,
}

#[derive(Clone, Debug, Default)]
struct StreamState {
    message_id: Option<String>,
    open_block: Option<u32>,
    /// index → tool_use id, for the current message.
    tool_blocks: HashMap<u32, String>,
}

impl Streams {
    pub(super) fn decode(&mut self, line: &Value, turn: &mut TurnTracker) -> Vec<EventBody> {
        let Some(event) = line.get("event") else {
            return Vec::new();
        };
        let parent = string_at(line, "parent_tool_use_id");
        let state = self.by_parent.entry(parent.clone()).or_default();
        let index = num_at::<u32>(event, "index");
        match str_at(event, "type") {
            Some("message_start") => {
                let message = event.get("message").unwrap_or(&Value::Null);
                *state = StreamState {
                    message_id: string_at(message, "id").or_else(|| api_message_id(line)),
                    ..StreamState::default()
                };
                turn.saw_model_call(state.message_id.as_deref(), str_at(message, "model"));
                // Nothing for a UI yet: it is kept raw.
                Vec::new()
            }
            Some("content_block_start") => {
                state.open_block = index;
                let block = event.get("content_block").unwrap_or(&Value::Null);
                if let (Some(index), Some("tool_use"), Some(id)) =
                    (index, str_at(block, "type"), string_at(block, "id"))
                {
                    state.tool_blocks.insert(index, id);
                }
                Vec::new()
            }
            Some("content_block_stop") => {
                state.open_block = None;
                Vec::new()
            }
            Some("content_block_delta") => {
                let (Some(index), Some(delta)) = (index, event.get("delta")) else {
                    return Vec::new();
                };
                let message_id = api_message_id(line).or_else(|| state.message_id.clone());
                delta_event(delta, index, message_id, parent, state)
                    .into_iter()
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    /// The content-block index an `assistant` line completes (see the module docs).
    pub(super) fn open_block(&self, line: &Value) -> Option<u32> {
        let parent = string_at(line, "parent_tool_use_id");
        self.by_parent.get(&parent).and_then(|s| s.open_block)
    }
}

fn delta_event(
    delta: &Value,
    index: u32,
    message_id: Option<String>,
    parent_tool_use_id: Option<String>,
    state: &StreamState,
) -> Option<EventBody> {
    let event = match str_at(delta, "type")? {
        "text_delta" => EventBody::TextDelta {
            message_id,
            index,
            text: string_at(delta, "text")?,
            parent_tool_use_id,
        },
        "thinking_delta" => EventBody::ThinkingDelta {
            message_id,
            index,
            text: string_at(delta, "thinking")?,
            parent_tool_use_id,
        },
        "input_json_delta" => EventBody::ToolInputDelta {
            message_id,
            index,
            tool_use_id: state.tool_blocks.get(&index).cloned(),
            partial_json: string_at(delta, "partial_json")?,
        },
        // signature_delta and future delta types: kept raw.
        _ => return None,
    };
    Some(event)
}

fn api_message_id(line: &Value) -> Option<String> {
    string_at(line, "api_message_id")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn line(event: Value) -> Value {
        json!({"type": "stream_event", "event": event, "parent_tool_use_id": null})
    }

    #[test]
    fn input_deltas_name_the_tool_call_announced_for_their_index() {
        let (mut streams, mut turn) = (Streams::default(), TurnTracker::default());
        let start =
            line(json!({"type": "message_start", "message": {"id": "msg_1", "model": "m"}}));
        assert!(streams.decode(&start, &mut turn).is_empty());
        let block = line(json!({"type": "content_block_start", "index": 2,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {}}}));
        assert!(streams.decode(&block, &mut turn).is_empty());
        let delta = line(json!({"type": "content_block_delta", "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": "{\"file_path\": \""}}));
        assert_eq!(
            streams.decode(&delta, &mut turn),
            vec![EventBody::ToolInputDelta {
                message_id: Some("msg_1".into()),
                index: 2,
                tool_use_id: Some("toolu_1".into()),
                partial_json: "{\"file_path\": \"".into()
            }]
        );
        assert_eq!(streams.open_block(&start), Some(2));
        let stop = line(json!({"type": "content_block_stop", "index": 2}));
        assert!(streams.decode(&stop, &mut turn).is_empty());
        assert_eq!(streams.open_block(&start), None);
    }
}
