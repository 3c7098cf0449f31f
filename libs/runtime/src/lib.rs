//! Run-time pieces every service binary shares.

pub mod checks;
pub mod http_metrics;
pub mod ops;
mod shutdown;

pub use shutdown::{shutdown_signal, Shutdown};
