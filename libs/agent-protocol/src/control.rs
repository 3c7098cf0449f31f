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
        /// What this connection is for. Absent (older controllers): [`Role::Controller`].
        #[serde(default)]
        role: Role,
    },
    /// Sent every [`crate::HEARTBEAT_INTERVAL`]; the agent answers `Pong` with the same `n`.
    Ping { n: u64 },
}

/// What a connection may do, declared in its `Hello`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Role {
    /// The session's controller (session-manager): the newest one to say hello replaces the
    /// previous one and receives the tunnels; it may open every channel.
    #[default]
    Controller,
    /// file-service: may open only `files` channels, whose paths are relative to `root` and
    /// never resolve outside it. Never displaces the controller, never receives tunnels.
    Files {
        /// Absolute path of the directory every request is confined to, e.g. `/workspace`.
        root: String,
    },
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
    /// The role the agent granted (echoes `Hello.role`). An agent older than roles leaves it
    /// out, which reads as `controller`: a client that asked for another role must give up.
    #[serde(default)]
    pub role: Role,
}
