//! Message schemas. Bodies are JSON; the `x-rc-schema` header carries [`SCHEMA_VERSION`] so a
//! consumer can refuse (dead-letter) messages from a newer, incompatible publisher.
//! Add fields with `#[serde(default)]`; never change the meaning of an existing one.

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use uuid::Uuid;

pub const SCHEMA_VERSION: u32 = 1;

/// A message knows its routing key.
pub trait Message: Serialize + DeserializeOwned + Send + Sync {
    fn routing_key(&self) -> String;
}

/// Commands for session-manager about a session's sandbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum SessionCommand {
    /// A session row was created in state `pending`: build its sandbox.
    Create { session_id: Uuid, org_id: Uuid },
    /// Start a stopped session's sandbox again (same volumes, same conversation); the row is
    /// `pending` again. Routed to the node that holds its volumes.
    Start {
        session_id: Uuid,
        org_id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node_id: Option<String>,
    },
    /// Stop the sandbox; the row is already `stopping`.
    Stop {
        session_id: Uuid,
        org_id: Uuid,
        reason: String,
        /// The session-manager owning the sandbox, when one has claimed it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node_id: Option<String>,
    },
    /// Remove the sandbox and its volumes; the row is already soft-deleted.
    Delete {
        session_id: Uuid,
        org_id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node_id: Option<String>,
    },
    /// Change the running session (the row already says what it becomes).
    Control {
        session_id: Uuid,
        org_id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node_id: Option<String>,
        control: SessionControl,
    },
}

/// What a session control asks of the session's Claude process or sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum SessionControl {
    /// End the conversation; the next prompt starts a new one in the same sandbox.
    Clear,
    SetModel {
        model: String,
    },
    SetPermissionMode {
        mode: String,
    },
    /// Restart the sandbox container; the conversation resumes.
    Restart,
}

impl SessionCommand {
    pub fn session_id(&self) -> Uuid {
        match self {
            Self::Create { session_id, .. }
            | Self::Start { session_id, .. }
            | Self::Stop { session_id, .. }
            | Self::Delete { session_id, .. }
            | Self::Control { session_id, .. } => *session_id,
        }
    }
}

/// `node.<id>.<key>` for a session some session-manager owns, else the shared `<key>` that any
/// instance may take. Node ids never contain dots (see [`valid_node_id`]).
fn routed(node_id: Option<&String>, key: &str) -> String {
    match node_id {
        Some(node) => format!("node.{node}.{key}"),
        None => key.to_owned(),
    }
}

/// Node ids are one routing-key word: letters, digits, `-` and `_`, 1 to 63 characters.
pub fn valid_node_id(id: &str) -> bool {
    (1..=63).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Message for SessionCommand {
    fn routing_key(&self) -> String {
        match self {
            Self::Create { .. } => "session.create".into(),
            Self::Start { node_id, .. } => routed(node_id.as_ref(), "session.start"),
            Self::Stop { node_id, .. } => routed(node_id.as_ref(), "session.stop"),
            Self::Delete { node_id, .. } => routed(node_id.as_ref(), "session.delete"),
            Self::Control { node_id, .. } => routed(node_id.as_ref(), "session.control"),
        }
    }
}

/// Events about tasks (queued prompts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TaskEvent {
    /// A prompt was queued on a session, or its queue was reordered ("look at the queue").
    Queued {
        task_id: Uuid,
        session_id: Uuid,
        org_id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node_id: Option<String>,
    },
    /// A queued or running task was cancelled by a user.
    Cancel {
        task_id: Uuid,
        session_id: Uuid,
        org_id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node_id: Option<String>,
    },
    /// A file of the session's workspace was changed through the file API; the session's
    /// owner records it as a `file_changed` event.
    FileChanged {
        session_id: Uuid,
        org_id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node_id: Option<String>,
        /// Relative to the workspace (for a rename: the new name).
        path: String,
        change: rc_events::FileChange,
    },
    /// Someone decided a permission request; the session's owner delivers it to Claude.
    ApprovalDecided {
        approval_id: Uuid,
        session_id: Uuid,
        org_id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node_id: Option<String>,
    },
}

impl TaskEvent {
    pub fn session_id(&self) -> Uuid {
        match self {
            Self::Queued { session_id, .. }
            | Self::Cancel { session_id, .. }
            | Self::ApprovalDecided { session_id, .. }
            | Self::FileChanged { session_id, .. } => *session_id,
        }
    }
}

impl Message for TaskEvent {
    fn routing_key(&self) -> String {
        match self {
            Self::Queued { node_id, .. } => routed(node_id.as_ref(), "task.queued"),
            Self::Cancel { node_id, .. } => routed(node_id.as_ref(), "task.cancel"),
            Self::ApprovalDecided { node_id, .. } => {
                routed(node_id.as_ref(), "task.approval_decided")
            }
            Self::FileChanged { node_id, .. } => routed(node_id.as_ref(), "task.file_changed"),
        }
    }
}

/// Everything session-manager's queues carry. The two payload types have distinct tag fields
/// (`command` / `event`), so the untagged union decodes each unambiguously.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SessionManagerMessage {
    Session(SessionCommand),
    Task(TaskEvent),
}

impl SessionManagerMessage {
    pub fn session_id(&self) -> Uuid {
        match self {
            Self::Session(c) => c.session_id(),
            Self::Task(e) => e.session_id(),
        }
    }
}

impl Message for SessionManagerMessage {
    fn routing_key(&self) -> String {
        match self {
            Self::Session(c) => c.routing_key(),
            Self::Task(e) => e.routing_key(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format_is_pinned() {
        let id = Uuid::nil();
        let json = serde_json::to_value(SessionCommand::Create {
            session_id: id,
            org_id: id,
        })
        .expect("serialise");
        assert_eq!(json["command"], "create");
        assert_eq!(json["session_id"], id.to_string());
        let json = serde_json::to_value(TaskEvent::Queued {
            task_id: id,
            session_id: id,
            org_id: id,
            node_id: None,
        })
        .expect("serialise");
        assert_eq!(json["event"], "queued");
        assert!(json.get("node_id").is_none(), "absent node is not sent");
        assert_eq!(
            TaskEvent::Cancel {
                task_id: id,
                session_id: id,
                org_id: id,
                node_id: None,
            }
            .routing_key(),
            "task.cancel"
        );
        assert_eq!(
            SessionCommand::Stop {
                session_id: id,
                org_id: id,
                reason: "r".into(),
                node_id: Some("node-a".into()),
            }
            .routing_key(),
            "node.node-a.session.stop"
        );
    }

    #[test]
    fn the_inbox_union_decodes_both_payload_types() {
        let id = Uuid::nil();
        for message in [
            SessionManagerMessage::Session(SessionCommand::Delete {
                session_id: id,
                org_id: id,
                node_id: Some("n1".into()),
            }),
            SessionManagerMessage::Task(TaskEvent::Cancel {
                task_id: id,
                session_id: id,
                org_id: id,
                node_id: None,
            }),
        ] {
            let wire = serde_json::to_vec(&message).expect("serialise");
            let back: SessionManagerMessage = serde_json::from_slice(&wire).expect("decode");
            assert_eq!(back, message);
        }
        // Messages from before node routing (no node_id) still decode.
        let old =
            serde_json::json!({"event": "queued", "task_id": id, "session_id": id, "org_id": id});
        assert!(matches!(
            serde_json::from_value::<SessionManagerMessage>(old),
            Ok(SessionManagerMessage::Task(TaskEvent::Queued {
                node_id: None,
                ..
            }))
        ));
    }

    #[test]
    fn node_ids_are_single_routing_words() {
        assert!(valid_node_id("sm-1_a"));
        assert!(!valid_node_id(""));
        assert!(!valid_node_id("a.b"));
        assert!(!valid_node_id("a*"));
        assert!(!valid_node_id(&"x".repeat(64)));
    }
}
