//! `system` lines. Only the subtypes a UI acts on are typed; `status`, `thinking_tokens`,
//! hooks, background tasks and the rest stay raw.

use super::{num_at, str_at, string_at, u64_at};
use crate::event::EventBody;
use serde_json::Value;

pub(super) fn decode(line: &Value) -> Vec<EventBody> {
    let event = match str_at(line, "subtype") {
        Some("init") => EventBody::TurnStarted {
            claude_session_id: string_at(line, "session_id"),
            model: string_at(line, "model"),
            permission_mode: string_at(line, "permissionMode"),
            cwd: string_at(line, "cwd"),
            tools: line
                .get("tools")
                .and_then(Value::as_array)
                .map(|tools| {
                    tools
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            claude_code_version: string_at(line, "claude_code_version"),
        },
        Some("api_retry") => EventBody::ApiRetry {
            attempt: num_at(line, "attempt"),
            max_retries: num_at(line, "max_retries"),
            retry_delay_ms: u64_at(line, "retry_delay_ms"),
            error_status: num_at(line, "error_status"),
            error: string_at(line, "error"),
        },
        Some("permission_denied") => {
            let Some(tool_name) = string_at(line, "tool_name") else {
                return Vec::new();
            };
            EventBody::PermissionDenied {
                tool_name,
                tool_use_id: string_at(line, "tool_use_id"),
                reason_type: string_at(line, "decision_reason_type"),
                message: string_at(line, "message"),
            }
        }
        _ => return Vec::new(),
    };
    vec![event]
}
