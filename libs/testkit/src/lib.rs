//! Helpers for integration tests that talk to real backing services.
//!
//! Databases: the migrations run once into a template database (per migration set, so a
//! changed migration gets a new template); each test clones it with `CREATE DATABASE … TEMPLATE`
//! (tens of milliseconds) and drops its clone when the [`TestDb`] is dropped.

#![allow(clippy::unwrap_used)]

pub mod bench;
mod database;
pub mod oidc;
pub mod service;

pub use database::TestDb;

/// Base URL of the Postgres server the tests use (`REMOTE_CLAUDE_TEST_DATABASE_URL`, default local).
pub fn postgres_base_url() -> String {
    std::env::var("REMOTE_CLAUDE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

/// Endpoint of the S3-compatible server the tests use (`REMOTE_CLAUDE_TEST_S3_ENDPOINT`; default the one
/// `scripts/start-s3.sh` starts).
pub fn s3_endpoint() -> String {
    std::env::var("REMOTE_CLAUDE_TEST_S3_ENDPOINT")
        .unwrap_or_else(|_| "http://127.0.0.1:9000".to_owned())
}
