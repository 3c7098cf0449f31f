//! Integration tests: the real `sandbox-agent serve` and `attach` processes, driven through
//! the controller-side `AgentClient` over the attach process's stdin/stdout, exactly as
//! session-manager does through `docker exec -i`.

mod claude;
mod connection;
mod files;
mod files_role;
mod helpers;
mod pty;
mod real_cli;
mod tunnel;
