//! The sandboxes on this node's Docker engine: what a sandbox container looks like
//! ([`spec`]) and the engine calls that create, attach to, sample and remove them
//! ([`engine`]).

pub mod engine;
pub mod spec;

pub use engine::{Engine, EngineError, SandboxInfo};
pub use spec::{SandboxSpec, LABEL_MANAGED, LABEL_NODE, LABEL_ORG, LABEL_POOL, LABEL_SESSION};
