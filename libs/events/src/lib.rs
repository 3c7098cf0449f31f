//! The session event model: what the web UI, the API and the stores see of a session.
//!
//! Two producers feed one stream per session:
//! * Claude Code's stream-json output, turned into typed events by a per-session [`Decoder`]
//!   (docs: claude-cli.md §1-§3, every shape checked against CLI 2.1.328 and the fixtures under
//!   `tests/fixtures/`);
//! * the platform itself (session-manager, api): tasks, the queue, approvals, container stats,
//!   file changes, errors.
//!
//! Every stored event is a [`SessionEvent`]: the session's sequence number, the task it belongs
//! to, the time, and an [`EventBody`] whose [`EventBody::kind`] is the `session_events.kind`
//! column. The schema is versioned by [`EVENT_SCHEMA_VERSION`]; README.md holds the rule for
//! changing it.
//!
//! Nothing the CLI prints is lost: a line the decoder does not understand (a new line type, a
//! subtype we do not model, text that is not JSON) becomes [`EventBody::Raw`] with the whole
//! line, never an error.

mod content;
mod decode;
mod error;
mod event;
mod platform;
mod turn;

pub use content::{AssistantContent, TodoItem, ToolInput};
pub use decode::{Decoder, DecoderConfig, DEFAULT_MAX_TOOL_OUTPUT_BYTES};
pub use error::EventError;
pub use event::{EventBody, SessionEvent};
pub use platform::{
    ApprovalDecision, ContainerStats, ErrorSource, FileChange, QueuedTask, SessionStatus,
    TaskOutcome,
};
pub use turn::{PermissionDenial, TokenUsage, TurnSummary};

/// The version of the event schema written by this crate. It only goes up when the meaning of
/// an existing kind or field changes, which the versioning rule (README.md) forbids in normal
/// work: additions (new kinds, new optional fields) keep the version.
pub const EVENT_SCHEMA_VERSION: u32 = 1;
