//! The `pty` channel: one terminal per stream.
//! Terminals belong to the agent, not to the stream, so they survive a reconnect: a new
//! stream re-attaches with `Attach { pty_id }` and gets the recent screen output back.

use serde::{Deserialize, Serialize};

/// Controller → agent. The first message is `Open` or `Attach`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PtyRequest {
    /// Start `command` (argv; empty = `$SHELL` from `env`, else `/bin/sh`) on a new terminal,
    /// with exactly `env` as its environment (include `TERM`).
    Open {
        cols: u16,
        rows: u16,
        command: Vec<String>,
        env: Vec<(String, String)>,
        cwd: String,
    },
    /// Re-attach to a terminal opened earlier (possibly over another connection).
    Attach {
        pty_id: u64,
    },
    /// Keystrokes.
    Data {
        #[serde(with = "crate::serde_bytes")]
        data: Vec<u8>,
    },
    Resize {
        cols: u16,
        rows: u16,
    },
    /// Hang up: SIGHUP the terminal's process group; `Exit` follows.
    Close,
}

/// Agent → controller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PtyEvent {
    /// Answer to `Open`.
    Opened {
        pty_id: u64,
        pid: u32,
    },
    /// Answer to `Attach`: the last bytes the terminal printed (bounded), to repaint from.
    Attached {
        pty_id: u64,
        pid: u32,
        #[serde(with = "crate::serde_bytes")]
        scrollback: Vec<u8>,
    },
    /// Terminal output.
    Data {
        #[serde(with = "crate::serde_bytes")]
        data: Vec<u8>,
    },
    /// The terminal's program ended; the agent then closes the stream.
    Exit {
        code: Option<i32>,
        signal: Option<i32>,
    },
    Error {
        message: String,
    },
}
