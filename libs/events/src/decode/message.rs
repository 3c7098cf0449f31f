//! `assistant` lines (one finished content block each) and `user` lines (tool results, prompt
//! echoes, interrupt markers).

use super::result::TurnTracker;
use super::{raw, str_at, string_at, DecoderConfig};
use crate::content::{AssistantContent, ToolInput};
use crate::event::EventBody;
use serde_json::Value;

/// The model name of the assistant messages the CLI makes up itself (API errors).
const SYNTHETIC_MODEL: &str = "<synthetic>";

pub(super) fn assistant(
    line: &Value,
    open_block: Option<u32>,
    turn: &mut TurnTracker,
) -> Vec<EventBody> {
    let message = line.get("message").unwrap_or(&Value::Null);
    let Some(blocks) = message.get("content").and_then(Value::as_array) else {
        return Vec::new();
    };
    let message_id = string_at(message, "id");
    let model = string_at(message, "model");
    if model.as_deref() != Some(SYNTHETIC_MODEL) {
        turn.saw_model_call(message_id.as_deref(), model.as_deref());
    }
    let parent_tool_use_id = string_at(line, "parent_tool_use_id");
    let aborted = line.get("aborted").and_then(Value::as_bool) == Some(true);
    // The open stream block is only this line's block when the line holds exactly one.
    let index = if blocks.len() == 1 { open_block } else { None };
    blocks
        .iter()
        .map(|block| {
            let content = match str_at(block, "type") {
                Some("tool_use") => {
                    if let (Some(id), Some(name)) = (string_at(block, "id"), str_at(block, "name"))
                    {
                        let input = block.get("input").unwrap_or(&Value::Null);
                        return EventBody::ToolCallStarted {
                            tool_use_id: id,
                            name: name.to_owned(),
                            input: ToolInput::parse(name, input),
                            message_id: message_id.clone(),
                            index,
                            parent_tool_use_id: parent_tool_use_id.clone(),
                        };
                    }
                    AssistantContent::Other {
                        block: block.clone(),
                    }
                }
                Some("text") => match string_at(block, "text") {
                    Some(text) => AssistantContent::Text { text },
                    None => AssistantContent::Other {
                        block: block.clone(),
                    },
                },
                Some("thinking") => match string_at(block, "thinking") {
                    Some(thinking) => AssistantContent::Thinking { thinking },
                    None => AssistantContent::Other {
                        block: block.clone(),
                    },
                },
                _ => AssistantContent::Other {
                    block: block.clone(),
                },
            };
            EventBody::AssistantBlock {
                message_id: message_id.clone(),
                index,
                model: model.clone(),
                block: content,
                aborted,
                parent_tool_use_id: parent_tool_use_id.clone(),
            }
        })
        .collect()
}

pub(super) fn user(line: &Value, config: &DecoderConfig) -> Vec<EventBody> {
    let flag = |key| line.get(key).and_then(Value::as_bool) == Some(true);
    let (is_replay, is_synthetic) = (flag("isReplay"), flag("isSynthetic"));
    let user_message = |text: String| EventBody::UserMessage {
        text,
        is_replay,
        is_synthetic,
    };
    let content = line.get("message").and_then(|m| m.get("content"));
    let blocks = match content {
        Some(Value::String(text)) => return vec![user_message(text.clone())],
        Some(Value::Array(blocks)) => blocks,
        _ => return Vec::new(),
    };
    let parent_tool_use_id = string_at(line, "parent_tool_use_id");
    let mut events = Vec::with_capacity(blocks.len());
    let mut unmodelled = false;
    for block in blocks {
        match str_at(block, "type") {
            Some("tool_result") => match tool_result(block, config, &parent_tool_use_id) {
                Some(event) => events.push(event),
                None => unmodelled = true,
            },
            Some("text") => match string_at(block, "text") {
                Some(text) => events.push(user_message(text)),
                None => unmodelled = true,
            },
            // A prompt's images (echoed with `--replay-user-messages`): the task keeps them,
            // and a copy in the event log would be megabytes of base64 in every stream.
            Some("image") => {}
            // Future block types.
            _ => unmodelled = true,
        }
    }
    if unmodelled && !events.is_empty() {
        // The typed events above tell only part of the line: keep the rest with it.
        events.push(raw(line.clone()));
    }
    events
}

fn tool_result(
    block: &Value,
    config: &DecoderConfig,
    parent_tool_use_id: &Option<String>,
) -> Option<EventBody> {
    let tool_use_id = string_at(block, "tool_use_id")?;
    let full = result_text(block.get("content").unwrap_or(&Value::Null));
    let (output, truncated) = truncate(&full, config.max_tool_output_bytes);
    Some(EventBody::ToolResult {
        tool_use_id,
        is_error: block.get("is_error").and_then(Value::as_bool) == Some(true),
        line_count: full.lines().count(),
        output_bytes: full.len(),
        output: output.to_owned(),
        truncated,
        parent_tool_use_id: parent_tool_use_id.clone(),
    })
}

/// A tool result's content is a string or a list of blocks (text, image).
fn result_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .map(
                |block| match (str_at(block, "type"), str_at(block, "text")) {
                    (Some("text"), Some(text)) => text.to_owned(),
                    (Some("image"), _) => "[image]".to_owned(),
                    _ => block.to_string(),
                },
            )
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The longest prefix of at most `max` bytes that ends on a character boundary.
fn truncate(text: &str, max: usize) -> (&str, bool) {
    if text.len() <= max {
        return (text, false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[..end], true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate("abc", 3), ("abc", false));
        assert_eq!(truncate("abcd", 3), ("abc", true));
        // "é" is two bytes: cutting inside it backs off to before it.
        assert_eq!(truncate("aé", 2), ("a", true));
        assert_eq!(truncate("", 0), ("", false));
    }

    #[test]
    fn tool_results_with_block_content_and_images_are_read() {
        let config = DecoderConfig {
            max_tool_output_bytes: 8,
        };
        let line = json!({"type": "user", "parent_tool_use_id": "toolu_parent", "message": {"role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "is_error": true,
                         "content": [{"type": "text", "text": "one\ntwo"}, {"type": "image", "source": {}}]}]}});
        assert_eq!(
            user(&line, &config),
            vec![EventBody::ToolResult {
                tool_use_id: "toolu_1".into(),
                is_error: true,
                line_count: 3,
                output_bytes: 15,
                output: "one\ntwo\n".into(),
                truncated: true,
                parent_tool_use_id: Some("toolu_parent".into()),
            }]
        );
    }

    #[test]
    fn a_prompt_echo_leaves_its_images_out() {
        // The task keeps the images; the event log keeps only the prompt's text.
        let line = json!({"type": "user", "isReplay": true, "message": {"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
            {"type": "text", "text": "what is this?"}]}});
        let events = user(&line, &DecoderConfig::default());
        assert_eq!(
            events,
            vec![EventBody::UserMessage {
                text: "what is this?".into(),
                is_replay: true,
                is_synthetic: false
            }]
        );
    }
}
