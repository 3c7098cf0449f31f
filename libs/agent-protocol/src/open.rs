use crate::{ProtocolError, CLAUDE_MAX_FRAME_BYTES, MAX_FRAME_BYTES};
use serde::{Deserialize, Serialize};

/// The protocol's major version. Additive changes (new optional fields, new message types, new
/// channels) keep it; anything an older peer would misread bumps it.
pub const PROTOCOL_VERSION: u32 = 1;

/// The tunnel target of the model API (`ANTHROPIC_BASE_URL` inside the sandbox).
pub const TUNNEL_TARGET_MODEL: &str = "model";

/// First frame of every stream, written by the side that opened it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "open")]
pub struct Open {
    pub version: u32,
    pub channel: Channel,
}

impl Open {
    /// A header at this build's [`PROTOCOL_VERSION`].
    pub fn new(channel: Channel) -> Self {
        Self {
            version: PROTOCOL_VERSION,
            channel,
        }
    }

    pub fn check_version(&self) -> Result<(), ProtocolError> {
        if self.version == PROTOCOL_VERSION {
            Ok(())
        } else {
            Err(ProtocolError::VersionMismatch {
                local: PROTOCOL_VERSION,
                remote: self.version,
            })
        }
    }
}

/// What a stream is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Channel {
    /// Controller-opened, once per connection: hello and heartbeats.
    Control,
    /// Controller-opened: the Claude process and its numbered output.
    Claude,
    /// Agent-opened, one per TCP connection accepted inside the sandbox; raw bytes after the
    /// header.
    Tunnel { target: String },
    /// Controller-opened, one per terminal.
    Pty,
    /// Controller-opened: file operations.
    Files,
}

impl Channel {
    /// The largest frame either side may send on this channel.
    pub fn max_frame_bytes(&self) -> usize {
        match self {
            Channel::Claude => CLAUDE_MAX_FRAME_BYTES,
            _ => MAX_FRAME_BYTES,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Channel::Control => "control",
            Channel::Claude => "claude",
            Channel::Tunnel { .. } => "tunnel",
            Channel::Pty => "pty",
            Channel::Files => "files",
        }
    }
}

/// `{"type":"error","message":…}`: the shape of every channel's `Error` variant, so a peer can
/// reject a stream (bad header, wrong version, unsupported channel) before knowing its type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "error")]
pub struct ErrorFrame {
    pub message: String,
}
