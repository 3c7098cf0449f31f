//! The sandbox agent protocol: how session-manager (the *controller*) talks to `sandbox-agent`
//! inside a session's container.
//!
//! The only way into a sandbox is the stdin/stdout of `docker exec -i <sandbox> sandbox-agent
//! attach`. That byte pipe carries one [yamux](https://docs.rs/yamux) session; each logical
//! channel (control, Claude, PTY, files, TCP tunnels) is one yamux stream whose first frame is
//! an [`Open`] header. Frames are length-prefixed JSON (`LengthDelimitedCodec`: a 4-byte
//! big-endian length, then the body); tunnel streams carry raw bytes after their header.
//! docs/agent-protocol.md is the full description; this crate holds the wire types, the frame
//! helpers both sides use, the multiplexer driver and the controller-side [`AgentClient`].

pub mod claude;
pub mod client;
pub mod control;
#[cfg(feature = "docker")]
pub mod docker;
mod error;
pub mod files;
pub mod frame;
pub mod mux;
mod open;
pub mod pty;
mod serde_bytes;

pub use claude::{ClaudeEvent, ClaudeRequest};
pub use client::{
    AgentClient, ChannelReceiver, ChannelSender, ClaudeChannel, ClaudeReceiver, ClaudeSender,
    FilesChannel, FramedChannel, PtyChannel, TunnelStream, Tunnels,
};
pub use control::{ControlEvent, ControlRequest, HelloAck, Role};
pub use error::ProtocolError;
pub use files::{FileInfo, FileKind, FilesRequest, FilesResponse};
pub use open::{Channel, ErrorFrame, Open, PROTOCOL_VERSION, TUNNEL_TARGET_MODEL};
pub use pty::{PtyEvent, PtyRequest};

use std::time::Duration;

/// Frame limit of every channel except `claude` (and of every `Open` header).
pub const MAX_FRAME_BYTES: usize = 1024 * 1024;
/// The longest child stdout line the agent forwards. The CLI prints one JSON object per line,
/// and a tool result or an image can make one line several MiB.
pub const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;
/// Frame limit of the `claude` channel: a [`MAX_LINE_BYTES`] line inside a JSON string grows
/// by JSON escaping, up to 6x for control characters (`\u001b`); valid JSON lines at most double.
pub const CLAUDE_MAX_FRAME_BYTES: usize = 6 * MAX_LINE_BYTES + 64 * 1024;
/// The controller pings this often on the control channel.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// Either side declares the connection dead after this many missed heartbeats.
pub const HEARTBEAT_MISSES: u32 = 3;
/// How long a peer may take to send a stream's `Open` header or answer `Hello`.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Silence on the control channel longer than this means the peer is gone.
pub fn dead_after() -> Duration {
    HEARTBEAT_INTERVAL * HEARTBEAT_MISSES
}
