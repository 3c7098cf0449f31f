//! Values inside the platform's own events. They are wire types of the event stream, kept
//! separate from the database enums (rc-domain) so that a storage change cannot silently
//! change what clients receive.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How a task ended.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TaskOutcome {
    Succeeded,
    Failed,
    Cancelled,
}

/// A session's lifecycle state.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Pending,
    Starting,
    Running,
    Stopping,
    Stopped,
    Failed,
}

/// One waiting task and its place in the queue (0 = next).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct QueuedTask {
    pub task_id: Uuid,
    pub position: u32,
}

/// A resource sample of a session's container. Counters (`network_*`) are totals since the
/// container started, so a client derives rates from two samples.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ContainerStats {
    /// CPU in use, in cores (1.5 = one and a half cores busy over the sample interval).
    pub cpu_cores: f64,
    pub memory_bytes: u64,
    pub memory_limit_bytes: Option<u64>,
    pub network_rx_bytes: u64,
    pub network_tx_bytes: u64,
    pub pids: u64,
}

/// What happened to a file.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FileChange {
    Created,
    Modified,
    Deleted,
    /// The event's `path` is the new name.
    Renamed {
        from: String,
    },
}

/// An answer to a permission request.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalDecision {
    /// Run this call.
    Allow,
    /// Run this call and add the CLI's suggested rule so that similar calls are not asked
    /// again this session.
    Always,
    Deny,
}

/// Which part of the system an [`crate::EventBody::Error`] comes from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ErrorSource {
    /// The model API (through the model proxy).
    ModelApi,
    /// The Claude Code process.
    Claude,
    /// The sandbox agent inside the container.
    Agent,
    /// session-manager, api or another platform service.
    Platform,
    /// A source added by a newer version.
    #[serde(other)]
    Other,
}
