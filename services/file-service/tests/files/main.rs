//! The internal file API end to end: real file-service, Postgres, S3 server, Docker engine and
//! sandbox image (with the agent built from this tree). See helpers.rs.

mod api;
mod helpers;
mod snapshots;
mod traversal;
