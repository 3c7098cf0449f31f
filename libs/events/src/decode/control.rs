//! `control_request` lines from the CLI (permission requests) and `control_cancel_request`.
//! Other requests (`hook_callback`) and `control_response` lines stay raw.

use super::{str_at, string_at};
use crate::content::ToolInput;
use crate::event::EventBody;
use serde_json::Value;

pub(super) fn request(line: &Value) -> Vec<EventBody> {
    let request = line.get("request").unwrap_or(&Value::Null);
    if str_at(request, "subtype") != Some("can_use_tool") {
        return Vec::new();
    }
    let (Some(request_id), Some(tool_name)) =
        (string_at(line, "request_id"), str_at(request, "tool_name"))
    else {
        return Vec::new();
    };
    let input = request.get("input").unwrap_or(&Value::Null);
    vec![EventBody::PermissionRequested {
        request_id,
        tool_name: tool_name.to_owned(),
        input: ToolInput::parse(tool_name, input),
        tool_use_id: string_at(request, "tool_use_id"),
        description: string_at(request, "description"),
        blocked_path: string_at(request, "blocked_path"),
        suggestions: request
            .get("permission_suggestions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        approval_id: None,
    }]
}

pub(super) fn cancel(line: &Value) -> Vec<EventBody> {
    string_at(line, "request_id")
        .map(|request_id| EventBody::PermissionCancelled { request_id })
        .into_iter()
        .collect()
}
