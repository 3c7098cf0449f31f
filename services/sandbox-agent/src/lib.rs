//! sandbox-agent: the main process of a session's sandbox container.
//!
//! `serve` owns the Claude Code process and outlives controller connections; it listens on
//! a unix socket (one yamux session per accepted connection; the newest one that completed
//! the Hello handshake is the controller) and on the
//! model port inside the sandbox, whose connections it tunnels to the controller. `attach` is
//! what the controller runs through `docker exec -i`: a plain pipe between the exec's stdio
//! and that socket. docs/agent-protocol.md describes the protocol.

pub mod attach;
mod claude;
pub mod cli;
mod connection;
mod control;
mod files;
pub mod home;
pub mod logging;
mod pty;
pub mod serve;
mod tunnel;
