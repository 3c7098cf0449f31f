//! The proxy end to end against real Postgres, Redis and the scripted fake model.

mod credentials;
mod helpers;
mod limits;
mod relay;
mod routes;
