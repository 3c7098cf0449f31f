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
    /// Stop the sandbox; the row is already `stopping`.
    Stop {
        session_id: Uuid,
        org_id: Uuid,
        reason: String,
    },
    /// Remove the sandbox and its volumes; the row is already soft-deleted.
    Delete { session_id: Uuid, org_id: Uuid },
}

impl Message for SessionCommand {
    fn routing_key(&self) -> String {
        match self {
            Self::Create { .. } => "session.create".into(),
            Self::Stop { .. } => "session.stop".into(),
            Self::Delete { .. } => "session.delete".into(),
        }
    }
}

/// Events about tasks (queued prompts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TaskEvent {
    /// A prompt was queued on a session.
    Queued {
        task_id: Uuid,
        session_id: Uuid,
        org_id: Uuid,
    },
    /// A queued or running task was cancelled by a user.
    Cancel {
        task_id: Uuid,
        session_id: Uuid,
        org_id: Uuid,
    },
}

impl Message for TaskEvent {
    fn routing_key(&self) -> String {
        match self {
            Self::Queued { .. } => "task.queued".into(),
            Self::Cancel { .. } => "task.cancel".into(),
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
        })
        .expect("serialise");
        assert_eq!(json["event"], "queued");
        assert_eq!(
            TaskEvent::Cancel {
                task_id: id,
                session_id: id,
                org_id: id
            }
            .routing_key(),
            "task.cancel"
        );
    }
}
