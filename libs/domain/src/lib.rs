//! The domain layer: every use case exactly once. REST handlers and GraphQL resolvers are thin
//! adapters that authenticate, obtain a [`rc_auth::Granted`] for the permission the use case
//! requires, call a function here and serialise its result.
//!
//! Conventions:
//! - functions that act for a caller take `&Granted<perm::X>`: the permission is part of the
//!   signature, and the organisation is always `granted.org_id` — no function takes an org id
//!   from the request, so cross-organisation access cannot be expressed;
//! - a resource of another organisation (or, for members, another user's session) is
//!   "not found", never "forbidden", so existence does not leak;
//! - every mutation writes its audit row in the same transaction as the change.

pub mod approval_links;
pub mod approvals;
pub mod audit;
pub mod events;
pub mod files;
pub mod invitations;
pub mod live;
pub mod login;
pub mod members;
pub mod orgs;
pub mod pagination;
pub mod push;
pub mod session_changes;
pub mod sessions;
pub mod tasks;
pub mod terminals;
pub mod tokens;
pub mod usage;
pub mod validate;

use rc_bus::Bus;
use sqlx::PgPool;
use std::sync::Arc;

pub use pagination::{Cursor, Page, PageRequest};

/// Handles the domain needs; cloned into every request.
#[derive(Clone)]
pub struct Domain {
    pub db: PgPool,
    pub bus: Arc<Bus>,
    pub settings: Arc<rc_config::Settings>,
    /// Live session events (Redis Streams) for this process's followers.
    pub live: live::LiveHub,
    pub session_changes: session_changes::SessionChangeHub,
}

impl Domain {
    /// Fails only on a malformed Redis URL; nothing connects yet.
    pub fn new(
        db: PgPool,
        bus: Arc<Bus>,
        settings: Arc<rc_config::Settings>,
    ) -> anyhow::Result<Self> {
        let live = live::LiveHub::new(settings.redis.url.expose(), &settings.redis.key_prefix)?;
        Ok(Self {
            db,
            bus,
            settings,
            live,
            session_changes: Default::default(),
        })
    }
}

/// Maps a bus failure to the client-facing error: the change was rolled back, retry later.
pub(crate) fn bus_unavailable(err: rc_bus::BusError) -> rc_errors::AppError {
    rc_errors::AppError::unavailable("the message bus", err)
}
