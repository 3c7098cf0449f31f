//! Authentication: browser login sessions (cookie + Redis), API tokens (bearer), OpenID
//! Connect and the dev login; the typed permission guard [`extract::Authz`].

pub mod extract;
pub mod live;
pub mod oidc;
pub mod store;
pub mod token_cache;

pub use extract::{Authz, AuthzLive, Caller};

/// Browser login session cookie (HttpOnly).
pub const SESSION_COOKIE: &str = "rc_session";
/// CSRF token cookie, readable by the frontend's JavaScript, echoed in [`CSRF_HEADER`].
pub const CSRF_COOKIE: &str = "rc_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Selects the organisation for cookie-authenticated requests (tokens are bound to one).
pub const ORG_HEADER: &str = "x-org-id";
