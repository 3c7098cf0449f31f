//! The envelope ([`SessionEvent`]) and the closed list of event kinds ([`EventBody`]).

use crate::content::{AssistantContent, ToolInput};
use crate::error::EventError;
use crate::platform::{
    ApprovalDecision, ContainerStats, ErrorSource, FileChange, QueuedTask, SessionStatus,
    TaskOutcome,
};
use crate::turn::TurnSummary;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// One stored event of a session.
///
/// On the wire the body is flattened into the envelope, so a client reads one flat object:
/// `{"seq":7,"task_id":"…","at":"…","kind":"text_delta","index":0,"text":"Hel"}`. Some bodies
/// name their task themselves (`task_started`, `task_finished`); the flat object then carries
/// `task_id` once (the envelope's), which is why (de)serialisation is written out here rather
/// than derived with `#[serde(flatten)]` (that would emit the key twice, which strict JSON
/// readers reject).
#[derive(Clone, Debug, PartialEq)]
pub struct SessionEvent {
    /// Position in the session's event stream (`session_events.seq`): gap-free, ordered, the
    /// resume point of a reconnecting client.
    pub seq: i64,
    /// The task (prompt) that was running when the event happened; `None` between tasks.
    pub task_id: Option<Uuid>,
    /// When the platform recorded the event (not the CLI's clock).
    pub at: DateTime<Utc>,
    pub body: EventBody,
}

impl Serialize for SessionEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        let mut flat = match serde_json::to_value(&self.body).map_err(S::Error::custom)? {
            Value::Object(map) => map,
            other => {
                return Err(S::Error::custom(format!(
                    "event body is not an object: {other}"
                )))
            }
        };
        flat.insert("seq".into(), Value::from(self.seq));
        flat.insert(
            "task_id".into(),
            self.task_id
                .map_or(Value::Null, |id| Value::String(id.to_string())),
        );
        flat.insert(
            "at".into(),
            serde_json::to_value(self.at).map_err(S::Error::custom)?,
        );
        flat.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SessionEvent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut flat = serde_json::Map::<String, Value>::deserialize(deserializer)?;
        let seq = flat
            .remove("seq")
            .and_then(|v| v.as_i64())
            .ok_or_else(|| D::Error::missing_field("seq"))?;
        let at = flat
            .remove("at")
            .ok_or_else(|| D::Error::missing_field("at"))
            .and_then(|v| serde_json::from_value(v).map_err(D::Error::custom))?;
        // Left in the map: the bodies that name their task read it from there.
        let task_id = match flat.get("task_id") {
            None | Some(Value::Null) => None,
            Some(v) => Some(serde_json::from_value(v.clone()).map_err(D::Error::custom)?),
        };
        let body = EventBody::deserialize(Value::Object(flat)).map_err(D::Error::custom)?;
        Ok(Self {
            seq,
            task_id,
            at,
            body,
        })
    }
}

impl SessionEvent {
    pub fn new(seq: i64, task_id: Option<Uuid>, at: DateTime<Utc>, body: EventBody) -> Self {
        Self {
            seq,
            task_id,
            at,
            body,
        }
    }
}

/// What happened. Internally tagged by `kind` (`#[serde(tag = "kind")]`) rather than a
/// `kind` string next to an untyped payload, because:
/// * the flat JSON (`{"kind":"tool_result","tool_use_id":…}`) is what the frontend switches
///   on, with one TypeScript union generated from one Rust enum;
/// * the tag is exactly [`EventBody::kind`], i.e. the `session_events.kind` column, so the row
///   and the API cannot disagree;
/// * the compiler makes every producer and consumer handle every kind.
///
/// Variant fields added later carry `#[serde(default)]` so that stored events keep decoding;
/// a kind a reader does not know yet decodes as [`EventBody::Unknown`] instead of failing.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventBody {
    // ---- decoded from Claude Code's stream-json output ----
    /// A turn began (`system/init`, which the CLI prints at the start of every turn).
    TurnStarted {
        claude_session_id: Option<String>,
        model: Option<String>,
        permission_mode: Option<String>,
        cwd: Option<String>,
        #[serde(default)]
        tools: Vec<String>,
        claude_code_version: Option<String>,
    },
    /// A piece of assistant text while the model streams (`content_block_delta/text_delta`).
    /// Deltas of one block share `message_id` and `index`; their concatenation is the text of
    /// the [`EventBody::AssistantBlock`] that follows.
    TextDelta {
        message_id: Option<String>,
        index: u32,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent_tool_use_id: Option<String>,
    },
    /// A piece of the model's thinking while it streams (`thinking_delta`).
    ThinkingDelta {
        message_id: Option<String>,
        index: u32,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent_tool_use_id: Option<String>,
    },
    /// A piece of a tool call's JSON input while it streams (`input_json_delta`): lets a UI
    /// show a command as the model writes it. The parsed input arrives in
    /// [`EventBody::ToolCallStarted`].
    ToolInputDelta {
        message_id: Option<String>,
        index: u32,
        tool_use_id: Option<String>,
        partial_json: String,
    },
    /// A finished text or thinking block (`assistant` line). Replaces the deltas of the same
    /// `message_id`/`index`. Tool-use blocks are reported as [`EventBody::ToolCallStarted`]
    /// only, so a tool call never appears twice.
    AssistantBlock {
        message_id: Option<String>,
        /// The block's position in its message, when partial messages are on (the CLI prints
        /// the complete block right after its last delta).
        index: Option<u32>,
        model: Option<String>,
        block: AssistantContent,
        /// The user interrupted the model while this block streamed.
        #[serde(default)]
        aborted: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent_tool_use_id: Option<String>,
    },
    /// The model asked to run a tool (a `tool_use` block), with its input parsed.
    ToolCallStarted {
        tool_use_id: String,
        name: String,
        input: ToolInput,
        message_id: Option<String>,
        index: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent_tool_use_id: Option<String>,
    },
    /// A tool's result as the model will see it (`user` line with a `tool_result` block).
    ToolResult {
        tool_use_id: String,
        is_error: bool,
        /// Lines in the whole output, before truncation.
        line_count: usize,
        /// Size of the whole output in bytes, before truncation.
        output_bytes: usize,
        /// The output, cut at the decoder's limit on a character boundary.
        output: String,
        truncated: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent_tool_use_id: Option<String>,
    },
    /// User-side text in the conversation: the echo of a prompt (`isReplay`, with
    /// `--replay-user-messages`), an interrupt marker ("[Request interrupted by user]") or a
    /// message the CLI wrote itself (`isSynthetic`, e.g. "resume after a cut-off stream").
    UserMessage {
        text: String,
        #[serde(default)]
        is_replay: bool,
        #[serde(default)]
        is_synthetic: bool,
    },
    /// Claude Code asks the host whether it may run a tool (`control_request/can_use_tool`);
    /// the turn waits (with no timeout) until it is answered or cancelled.
    PermissionRequested {
        request_id: String,
        tool_name: String,
        input: ToolInput,
        tool_use_id: Option<String>,
        description: Option<String>,
        blocked_path: Option<String>,
        /// The CLI's `permission_suggestions` ("always allow" rules, mode switches), passed
        /// back verbatim in an allow-and-remember answer.
        #[serde(default)]
        suggestions: Vec<Value>,
        /// The platform's approval record for this request (set by session-manager when it
        /// stores the event; decide it with the approvals API).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        approval_id: Option<Uuid>,
    },
    /// The CLI withdrew a pending permission request (`control_cancel_request`, e.g. after an
    /// interrupt).
    PermissionCancelled { request_id: String },
    /// A tool call was refused without asking anyone (`system/permission_denied`: mode, rule,
    /// hook, working directory).
    PermissionDenied {
        tool_name: String,
        tool_use_id: Option<String>,
        reason_type: Option<String>,
        message: Option<String>,
    },
    /// The model API failed and the CLI will retry (`system/api_retry`).
    ApiRetry {
        attempt: Option<u32>,
        max_retries: Option<u32>,
        retry_delay_ms: Option<u64>,
        error_status: Option<u16>,
        error: Option<String>,
    },
    /// A turn ended (`result`).
    TurnCompleted(TurnSummary),
    /// A CLI line this version does not model, kept whole. `line_type` is `<type>` or
    /// `<type>.<subtype>` (`stream_event.<event type>` for stream events), `text` for output
    /// that is not JSON (then `payload` is the line as a string).
    Raw { line_type: String, payload: Value },

    // ---- produced by the platform ----
    /// A task (prompt) was handed to Claude.
    TaskStarted { task_id: Uuid, prompt_chars: usize },
    /// A task ended.
    TaskFinished { task_id: Uuid, state: TaskOutcome },
    /// The session's queue of waiting tasks changed; the full queue, in order.
    QueueChanged {
        #[serde(default)]
        queued: Vec<QueuedTask>,
    },
    /// The session's lifecycle state changed.
    SessionStateChanged {
        state: SessionStatus,
        reason: Option<String>,
    },
    /// A session control took effect: `clear` (a new conversation), `set_model`,
    /// `set_permission_mode` (with the new `value`), or `restart` (the sandbox restarted; the
    /// conversation resumes).
    SessionControlled {
        action: String,
        value: Option<String>,
    },
    /// A resource sample of the session's container.
    ContainerStats(ContainerStats),
    /// A file in the workspace changed (path relative to the workspace root).
    FileChanged { path: String, change: FileChange },
    /// Someone answered a [`EventBody::PermissionRequested`].
    ApprovalDecided {
        approval_id: Uuid,
        /// The CLI's `request_id` being answered.
        request_id: String,
        decision: ApprovalDecision,
        /// The deciding user; `None` for automatic decisions (policy, timeout).
        by: Option<Uuid>,
        /// Where the answer came from (`web`, `api`, `mobile`, `policy`, …).
        via: String,
        /// Shown to Claude with a denial.
        message: Option<String>,
    },
    /// The Claude process ended (it is restarted for the next task).
    ClaudeExited {
        code: Option<i32>,
        signal: Option<i32>,
    },
    /// Output between two agent sequence numbers was lost (the sandbox agent's buffer
    /// overflowed while session-manager was away).
    OutputLost {
        message: String,
        after_seq: Option<u64>,
        next_seq: Option<u64>,
    },
    /// Something failed that the user should see.
    Error {
        source: ErrorSource,
        message: String,
    },
    /// A kind written by a newer version of this crate. Never written; lets an old reader
    /// skip what it does not know instead of failing.
    #[serde(other)]
    Unknown,
}

impl EventBody {
    /// The stable name of the kind: the serde tag and the `session_events.kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::TurnStarted { .. } => "turn_started",
            Self::TextDelta { .. } => "text_delta",
            Self::ThinkingDelta { .. } => "thinking_delta",
            Self::ToolInputDelta { .. } => "tool_input_delta",
            Self::AssistantBlock { .. } => "assistant_block",
            Self::ToolCallStarted { .. } => "tool_call_started",
            Self::ToolResult { .. } => "tool_result",
            Self::UserMessage { .. } => "user_message",
            Self::PermissionRequested { .. } => "permission_requested",
            Self::PermissionCancelled { .. } => "permission_cancelled",
            Self::PermissionDenied { .. } => "permission_denied",
            Self::ApiRetry { .. } => "api_retry",
            Self::TurnCompleted(_) => "turn_completed",
            Self::Raw { .. } => "raw",
            Self::TaskStarted { .. } => "task_started",
            Self::TaskFinished { .. } => "task_finished",
            Self::QueueChanged { .. } => "queue_changed",
            Self::SessionStateChanged { .. } => "session_state_changed",
            Self::SessionControlled { .. } => "session_controlled",
            Self::ContainerStats(_) => "container_stats",
            Self::FileChanged { .. } => "file_changed",
            Self::ApprovalDecided { .. } => "approval_decided",
            Self::ClaudeExited { .. } => "claude_exited",
            Self::OutputLost { .. } => "output_lost",
            Self::Error { .. } => "error",
            Self::Unknown => "unknown",
        }
    }

    /// The body as stored in `session_events.payload`: the JSON object without its `kind`,
    /// which lives in its own column.
    pub fn to_payload(&self) -> Result<Value, EventError> {
        let mut value = serde_json::to_value(self).map_err(|source| EventError::Encode {
            kind: self.kind(),
            source,
        })?;
        if let Value::Object(map) = &mut value {
            map.remove("kind");
        }
        Ok(value)
    }

    /// Rebuilds a body from a stored row (`kind` column + `payload`). A kind this version does
    /// not know gives [`EventBody::Unknown`].
    pub fn from_row(kind: &str, payload: Value) -> Result<Self, EventError> {
        let mut map = match payload {
            Value::Object(map) => map,
            // Every kind is an object; anything else is a corrupt row, not a new kind.
            other => {
                return Err(EventError::NotAnObject {
                    kind: kind.to_owned(),
                    found: json_type(&other),
                })
            }
        };
        map.insert("kind".into(), Value::String(kind.to_owned()));
        serde_json::from_value(Value::Object(map)).map_err(|source| EventError::Decode {
            kind: kind.to_owned(),
            source,
        })
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod envelope_tests {
    use super::*;
    use crate::platform::TaskOutcome;

    #[test]
    fn a_body_that_names_its_task_is_flat_with_one_task_id_and_round_trips() {
        let task = Uuid::now_v7();
        let event = SessionEvent::new(
            9,
            Some(task),
            Utc::now(),
            EventBody::TaskFinished {
                task_id: task,
                state: TaskOutcome::Succeeded,
            },
        );
        let json = serde_json::to_string(&event).expect("serialise");
        assert_eq!(json.matches("\"task_id\"").count(), 1, "{json}");
        let back: SessionEvent = serde_json::from_str(&json).expect("strict parse");
        assert_eq!(back, event);
        // And an event between tasks.
        let quiet = SessionEvent::new(
            10,
            None,
            Utc::now(),
            EventBody::QueueChanged { queued: vec![] },
        );
        let json = serde_json::to_value(&quiet).expect("serialise");
        assert_eq!(json["kind"], "queue_changed");
        assert!(json["task_id"].is_null());
        assert_eq!(
            serde_json::from_value::<SessionEvent>(json).expect("parse"),
            quiet
        );
    }
}
