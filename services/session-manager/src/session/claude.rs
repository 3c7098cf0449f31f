//! The session's Claude Code process as session-manager drives it: how it is started, the
//! stream-json lines written to it, and what session-manager reads back from its output
//! (claude-cli.md §1-§3, every fact there verified against CLI 2.1.328).

use super::store::{SessionRow, TaskImage};
use crate::sandbox::spec::{HOME_DIR, WORKSPACE_DIR};
use rc_agent_protocol::ClaudeRequest;
use serde_json::{json, Value};

/// The loopback address where the agent tunnels model traffic out of the sandbox.
pub const MODEL_ENDPOINT: &str = "http://127.0.0.1:8787";

/// The key the CLI sees. It only has to look like a key: the model proxy replaces it with the
/// organisation's real credential outside the sandbox, so nothing secret ever enters it.
pub fn dummy_api_key(session: &SessionRow) -> String {
    format!("sk-ant-rc-sandbox-{}", session.id.simple())
}

/// `claude -p` in stream-json mode for the session's whole life: context stays warm between
/// turns, and `--resume` continues the same conversation after a sandbox restart.
pub fn start_request(session: &SessionRow) -> ClaudeRequest {
    let mut args: Vec<String> = [
        "-p",
        "--input-format",
        "stream-json",
        "--output-format",
        "stream-json",
        "--verbose",
        "--include-partial-messages",
        // Permission requests come to us as `can_use_tool` control requests.
        "--permission-prompt-tool",
        "stdio",
        // Each prompt is echoed back with isReplay: our proof that it reached the process.
        "--replay-user-messages",
    ]
    .map(String::from)
    .to_vec();
    args.extend(["--model".into(), session.model.clone()]);
    args.extend(["--permission-mode".into(), session.permission_mode.clone()]);
    if let Some(claude_session) = &session.claude_session_id {
        args.extend(["--resume".into(), claude_session.clone()]);
    }
    let mut env: Vec<(String, String)> = [
        ("HOME", HOME_DIR.to_owned()),
        ("PATH", "/usr/local/bin:/usr/bin:/bin".to_owned()),
        ("LANG", "C.UTF-8".to_owned()),
    ]
    .map(|(k, v)| (k.to_owned(), v))
    .to_vec();
    env.extend(model_env(session));
    ClaudeRequest::Start {
        program: "claude".into(),
        args,
        env,
        cwd: WORKSPACE_DIR.into(),
    }
}

/// What any Claude process in the sandbox (turns, or the TUI in a terminal) needs to reach
/// the model: the agent's loopback tunnel and the session's dummy key.
pub fn model_env(session: &SessionRow) -> Vec<(String, String)> {
    [
        ("ANTHROPIC_BASE_URL", MODEL_ENDPOINT.to_owned()),
        ("ANTHROPIC_API_KEY", dummy_api_key(session)),
        // Without it the CLI waits on unreachable telemetry hosts (13.7 s vs 1.3 s per run).
        ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".to_owned()),
        ("DISABLE_AUTOUPDATER", "1".to_owned()),
    ]
    .map(|(k, v)| (k.to_owned(), v))
    .to_vec()
}

/// A user turn (stream-json input). A prompt with images is a content-block array: the
/// images in order, then the text (claude-cli.md §2); a text-only prompt stays a string.
pub fn user_line(prompt: &str, images: &[TaskImage]) -> String {
    use base64::Engine as _;
    let content = if images.is_empty() {
        json!(prompt)
    } else {
        let mut blocks: Vec<Value> = images
            .iter()
            .map(|image| {
                json!({
                    "type": "image",
                    "source": {
                        "type": "base64",
                        "media_type": image.media_type,
                        "data": base64::engine::general_purpose::STANDARD.encode(&image.data),
                    },
                })
            })
            .collect();
        blocks.push(json!({"type": "text", "text": prompt}));
        Value::Array(blocks)
    };
    json!({
        "type": "user",
        "message": {"role": "user", "content": content},
        "parent_tool_use_id": null,
        "session_id": "",
    })
    .to_string()
}

/// Interrupts the running turn; the CLI ends it with `error_during_execution`.
pub fn interrupt_line(request_id: &str) -> String {
    json!({"type": "control_request", "request_id": request_id, "request": {"subtype": "interrupt"}})
        .to_string()
}

/// A control request with one argument (`set_model` / `model`, `set_permission_mode` /
/// `mode`; claude-cli.md §3): applies from the next model call or tool use.
pub fn control_line(request_id: &str, subtype: &str, key: &str, value: &str) -> String {
    let mut request = json!({"subtype": subtype});
    request[key] = json!(value);
    json!({"type": "control_request", "request_id": request_id, "request": request}).to_string()
}

/// Answers a `can_use_tool` request with a denial (`message` is required by the CLI).
pub fn deny_line(request_id: &str, message: &str) -> String {
    json!({
        "type": "control_response",
        "response": {"subtype": "success", "request_id": request_id,
                     "response": {"behavior": "deny", "message": message}},
    })
    .to_string()
}

/// Answers a `can_use_tool` request with an allow. `updated_permissions` ("always") are the
/// rules Claude adds for the rest of its session.
pub fn allow_line(request_id: &str, input: &Value, updated_permissions: &[Value]) -> String {
    let mut response = json!({"behavior": "allow", "updatedInput": input});
    if !updated_permissions.is_empty() {
        response["updatedPermissions"] = Value::Array(updated_permissions.to_vec());
    }
    json!({
        "type": "control_response",
        "response": {"subtype": "success", "request_id": request_id, "response": response},
    })
    .to_string()
}

/// What an "Always" remembers: the CLI's own suggestions of rules and directories, kept to
/// this session (a suggestion may name `localSettings`, which would write into the
/// workspace; mode switches are broader than the call and left out), or the whole tool when
/// it suggested nothing usable.
pub fn always_rules(tool_name: &str, suggestions: &[Value]) -> Vec<Value> {
    let rules: Vec<Value> = suggestions
        .iter()
        .filter(|s| s["type"] == "addRules" || s["type"] == "addDirectories")
        .map(|s| {
            let mut s = s.clone();
            s["destination"] = json!("session");
            s
        })
        .collect();
    if rules.is_empty() {
        vec![
            json!({"type": "addRules", "rules": [{"toolName": tool_name}], "behavior": "allow", "destination": "session"}),
        ]
    } else {
        rules
    }
}

/// What session-manager must act on in one output line. Everything else is only stored.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    /// The turn ended (`result`).
    TurnEnded(TurnResult),
    /// Claude asks to use a tool.
    PermissionRequest {
        request_id: String,
        tool_name: String,
        input: Value,
    },
    None,
}

/// The stored result of one turn (tasks.result).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TurnResult {
    pub text: Option<String>,
    pub is_error: bool,
    pub subtype: String,
    pub terminal_reason: Option<String>,
    pub duration_ms: Option<u64>,
    pub num_turns: Option<u64>,
    /// The CLI's own client-side estimate; metered cost is in usage_records.
    pub cost_usd: Option<f64>,
    pub usage: Value,
    pub permission_denials: Value,
    pub errors: Value,
    pub claude_session_id: Option<String>,
}

/// One output line as stored: its event kind (`claude.<type>[.<subtype>]`) and payload, and
/// what it means for the session. Lines that are not JSON are kept verbatim as `claude.raw`
/// (a CLI upgrade must never lose or break anything).
pub fn classify(line: &str) -> (String, Value, Signal) {
    let Ok(value) = serde_json::from_str::<Value>(line) else {
        return ("claude.raw".into(), json!({ "line": line }), Signal::None);
    };
    let ty = value
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let subtype = value.get("subtype").and_then(Value::as_str);
    let kind = match (ty, subtype) {
        ("system" | "result", Some(sub)) => format!("claude.{ty}.{sub}"),
        _ => format!("claude.{ty}"),
    };
    let signal = match ty {
        "result" => Signal::TurnEnded(turn_result(&value)),
        "control_request" => {
            let request = &value["request"];
            if request["subtype"] == "can_use_tool" {
                Signal::PermissionRequest {
                    request_id: value["request_id"].as_str().unwrap_or_default().to_owned(),
                    tool_name: request["tool_name"].as_str().unwrap_or_default().to_owned(),
                    input: request["input"].clone(),
                }
            } else {
                Signal::None
            }
        }
        _ => Signal::None,
    };
    (kind, value, signal)
}

fn turn_result(v: &Value) -> TurnResult {
    TurnResult {
        text: v["result"].as_str().map(str::to_owned),
        // API errors keep subtype "success" but set is_error (claude-cli.md §1.6).
        is_error: v["is_error"].as_bool().unwrap_or(false),
        subtype: v["subtype"].as_str().unwrap_or("unknown").to_owned(),
        terminal_reason: v["terminal_reason"].as_str().map(str::to_owned),
        duration_ms: v["duration_ms"].as_u64(),
        num_turns: v["num_turns"].as_u64(),
        cost_usd: v["total_cost_usd"].as_f64(),
        usage: v["usage"].clone(),
        permission_denials: v
            .get("permission_denials")
            .cloned()
            .unwrap_or_else(|| json!([])),
        errors: v.get("errors").cloned().unwrap_or_else(|| json!([])),
        claude_session_id: v["session_id"].as_str().map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_init_and_permission_requests_are_recognised() {
        let (kind, _, signal) = classify(
            r#"{"type":"result","subtype":"success","is_error":true,"api_error_status":429,"result":"API Error","session_id":"s1","duration_ms":12,"total_cost_usd":0,"usage":{"input_tokens":3},"permission_denials":[]}"#,
        );
        assert_eq!(kind, "claude.result.success");
        let Signal::TurnEnded(result) = signal else {
            panic!("not a turn end: {signal:?}")
        };
        assert!(result.is_error, "is_error wins over subtype");
        assert_eq!(result.claude_session_id.as_deref(), Some("s1"));
        assert_eq!(result.usage["input_tokens"], 3);

        let (kind, _, signal) = classify(
            r#"{"type":"control_request","request_id":"r1","request":{"subtype":"can_use_tool","tool_name":"Bash","input":{"command":"ls"}}}"#,
        );
        assert_eq!(kind, "claude.control_request");
        assert_eq!(
            signal,
            Signal::PermissionRequest {
                request_id: "r1".into(),
                tool_name: "Bash".into(),
                input: json!({"command": "ls"})
            }
        );
        assert_eq!(
            classify(r#"{"type":"system","subtype":"init","session_id":"x"}"#).0,
            "claude.system.init"
        );
    }

    #[test]
    fn always_keeps_suggested_rules_to_the_session() {
        let suggestions = [
            json!({"type":"addRules","rules":[{"toolName":"Bash","ruleContent":"touch *"}],"behavior":"allow","destination":"localSettings"}),
            json!({"type":"addDirectories","directories":["/workspace/x"],"destination":"session"}),
        ];
        let rules = always_rules("Bash", &suggestions);
        assert_eq!(rules.len(), 2, "rules and directories");
        assert!(rules.iter().all(|r| r["destination"] == "session"));
        let mode = [json!({"type":"setMode","mode":"acceptEdits","destination":"session"})];
        assert_eq!(
            always_rules("Write", &mode)[0]["rules"][0]["toolName"],
            "Write",
            "no mode switch"
        );
        assert_eq!(rules[0]["rules"][0]["ruleContent"], "touch *");
        assert_eq!(
            always_rules("Write", &[])[0]["rules"][0]["toolName"],
            "Write"
        );
        let line: Value =
            serde_json::from_str(&allow_line("r9", &json!({"a": 1}), &rules)).unwrap_or_default();
        assert_eq!(line["response"]["request_id"], "r9");
        assert_eq!(line["response"]["response"]["behavior"], "allow");
        assert_eq!(line["response"]["response"]["updatedInput"]["a"], 1);
        assert_eq!(
            line["response"]["response"]["updatedPermissions"][0]["destination"],
            "session"
        );
    }

    #[test]
    fn unknown_and_broken_lines_are_kept() {
        let (kind, payload, signal) = classify("not json at all");
        assert_eq!(kind, "claude.raw");
        assert_eq!(payload["line"], "not json at all");
        assert_eq!(signal, Signal::None);
        assert_eq!(classify(r#"{"type":"brand_new"}"#).0, "claude.brand_new");
    }

    #[test]
    fn written_lines_are_single_line_stream_json() {
        for line in [
            user_line("two\nlines", &[]),
            user_line(
                "two\nlines",
                &[TaskImage {
                    media_type: "image/png".into(),
                    data: vec![0x89, b'P', b'N', b'G', b'\n'],
                }],
            ),
            interrupt_line("int-1"),
            deny_line("r1", "no"),
            allow_line(
                "r1",
                &json!({"command": "ls\nls"}),
                &always_rules("Bash", &[]),
            ),
        ] {
            assert!(!line.contains('\n'), "{line}");
            serde_json::from_str::<Value>(&line).expect("valid JSON");
        }
    }

    #[test]
    fn a_text_prompt_is_a_string_and_images_come_before_the_text() {
        let text: Value = serde_json::from_str(&user_line("hi", &[])).unwrap();
        assert_eq!(
            text,
            json!({"type": "user", "message": {"role": "user", "content": "hi"},
                   "parent_tool_use_id": null, "session_id": ""})
        );
        let images = [
            TaskImage {
                media_type: "image/png".into(),
                data: b"\x89PNG".to_vec(),
            },
            TaskImage {
                media_type: "image/gif".into(),
                data: b"GIF89a".to_vec(),
            },
        ];
        let line: Value = serde_json::from_str(&user_line("look", &images)).unwrap();
        assert_eq!(
            line["message"]["content"],
            json!([
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw=="}},
                {"type": "image", "source": {"type": "base64", "media_type": "image/gif", "data": "R0lGODlh"}},
                {"type": "text", "text": "look"},
            ])
        );
        assert_eq!(line["message"]["role"], "user");
    }
}
