//! The public api: login, RBAC, REST (`/api/v1`, OpenAPI) and GraphQL (`/graphql`) over the one
//! domain layer in `rc-domain`.

pub mod auth;
pub mod errors;
pub mod graphql;
pub mod openapi;
mod rate_limit;
pub mod routes;
pub mod startup;
pub mod state;
mod trace;

pub const SERVICE: &str = "api";
