//! api integration tests: the real app in-process on port 0, against real Postgres (a fresh
//! database per test), Redis, RabbitMQ and, for login, a real OpenID provider.

// Tests fail loudly by design: unwrap is the assertion.
#![allow(clippy::unwrap_used)]

mod approval_links;
mod audit;
mod auth;
mod contract;
mod controls;
mod errors;
mod events;
mod files_doc;
mod graphql;
mod helpers;
mod live_rights;
mod members;
mod oidc;
mod push;
mod session_changes;
mod sessions;
mod tasks;
mod tokens;
mod usage;
