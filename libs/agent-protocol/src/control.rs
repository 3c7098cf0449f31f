//! The `control` channel: one per connection, opened by the controller. It proves both ends
//! speak the same protocol and keeps the connection honest with heartbeats.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Controller → agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ControlRequest {
    /// First message on the channel.
    Hello {
        protocol_version: u32,
        /// Free text for the agent's log, e.g. `session-manager/0.1.0 node-a`.
        client: String,
    },
    /// Sent every [`crate::HEARTBEAT_INTERVAL`]; the agent answers `Pong` with the same `n`.
    Ping { n: u64 },
}

/// Agent → controller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ControlEvent {
    HelloAck(HelloAck),
    Pong { n: u64 },
    Error { message: String },
}

/// The agent's answer to `Hello`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelloAck {
    pub protocol_version: u32,
    /// The `sandbox-agent` crate version.
    pub agent_version: String,
    /// Random per `sandbox-agent serve` start. Sequence numbers are per boot: a new `boot_id`
    /// means the agent restarted, its buffer is gone and numbering restarted at 1.
    pub boot_id: Uuid,
    /// Process id of `sandbox-agent serve` inside the container.
    pub pid: u32,
}
