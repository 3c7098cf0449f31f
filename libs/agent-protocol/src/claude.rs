//! The `claude` channel: runs the Claude Code CLI (or any line-oriented program) and relays
//! its stdout lines with sequence numbers, so a controller that reconnects gets exactly the
//! lines it has not acknowledged.

use serde::{Deserialize, Serialize};

/// Controller → agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClaudeRequest {
    /// Subscribe this channel to the output: the agent answers `Attached`, replays every
    /// buffered entry with `seq > after_seq` in order, then streams new ones. Also acknowledges
    /// everything up to `after_seq`. A later `Attach` (on any channel) replaces this one.
    Attach { after_seq: u64 },
    /// Spawn the program. The child gets exactly `env` (the agent's own environment is
    /// cleared), runs in `cwd`, and is the leader of a new process group.
    Start {
        program: String,
        args: Vec<String>,
        env: Vec<(String, String)>,
        cwd: String,
    },
    /// Write `line` plus `\n` to the child's stdin. `line` must not contain a newline.
    Input { line: String },
    /// Close the child's stdin (the CLI finishes the running turn and exits 0).
    CloseInput,
    /// Drop buffered entries with `seq <= seq`; they will not be replayed again.
    Ack { seq: u64 },
    /// SIGTERM the child's process group, SIGKILL it after `grace_ms`.
    Stop { grace_ms: u64 },
}

/// Agent → controller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClaudeEvent {
    /// Answer to `Attach`, sent before the replay.
    Attached {
        running: bool,
        pid: Option<u32>,
        /// The sequence number the next new entry will get.
        next_seq: u64,
        /// The oldest entry still buffered; greater than `after_seq + 1` means entries were
        /// lost to buffer overflow. `None` with `next_seq > after_seq + 1` means the same.
        oldest_buffered_seq: Option<u64>,
    },
    /// Answer to `Start`.
    Started { pid: u32 },
    /// One stdout line of the child, without its `\n` (invalid UTF-8 is replaced by U+FFFD).
    Output { seq: u64, line: String },
    /// One stderr line of the child: live only, neither numbered nor buffered.
    Stderr { line: String },
    /// The child ended; numbered and buffered like output, after the child's last line.
    Exited {
        seq: u64,
        code: Option<i32>,
        signal: Option<i32>,
    },
    /// A request failed, or entries were lost; the channel stays usable.
    Error { message: String },
}

impl ClaudeEvent {
    /// The sequence number of numbered (buffered, replayable) events.
    pub fn seq(&self) -> Option<u64> {
        match self {
            ClaudeEvent::Output { seq, .. } | ClaudeEvent::Exited { seq, .. } => Some(*seq),
            _ => None,
        }
    }
}
