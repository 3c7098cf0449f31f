//! A short-lived in-process cache of API-token lookups.
//!
//! Busy API clients present the same token on every request; resolving it costs a database
//! round trip (token, user and membership). Caching the result for a few seconds removes that
//! from the hot path. The price is bounded staleness: a token revoked — or a role changed — on
//! *another* api instance keeps working here for at most [`TTL`]. Revocations through this
//! instance take effect at once ([`TokenCache::forget`]).

use moka::sync::Cache;
use rc_auth::Actor;
use std::time::Duration;

pub const TTL: Duration = Duration::from_secs(5);
const CAPACITY: u64 = 10_000;

#[derive(Clone)]
pub struct TokenCache {
    /// Keyed by the SHA-256 of the secret, never the secret itself.
    entries: Cache<Vec<u8>, Actor>,
}

impl Default for TokenCache {
    fn default() -> Self {
        Self {
            entries: Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(TTL)
                .build(),
        }
    }
}

impl TokenCache {
    pub fn get(&self, hash: &[u8]) -> Option<Actor> {
        self.entries.get(hash)
    }

    pub fn insert(&self, hash: Vec<u8>, actor: Actor) {
        self.entries.insert(hash, actor);
    }

    /// Drops every cached token (after a revocation or membership change on this instance;
    /// rare, so clearing everything is simpler than tracking which hash belongs to which id).
    pub fn forget_all(&self) {
        self.entries.invalidate_all();
    }
}
