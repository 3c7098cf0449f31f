//! Logs go to stderr, always: `attach`'s stdout is the protocol pipe.

use std::io::IsTerminal as _;
use tracing_subscriber::EnvFilter;

/// `default` applies when RUST_LOG is unset; an unparsable RUST_LOG is reported, not ignored.
pub fn init(default: &str) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() => EnvFilter::try_new(&spec).unwrap_or_else(|err| {
            eprintln!("sandbox-agent: ignoring invalid RUST_LOG {spec:?}: {err}");
            EnvFilter::new(default)
        }),
        _ => EnvFilter::new(default),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
