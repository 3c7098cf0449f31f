//! One session's sandbox and Claude process, driven by one actor task.

pub mod actor;
pub mod claude;
pub mod live;
pub mod store;

pub use actor::Command;
