//! Signed approval links: a one-tap decision page that works without a login cookie
//! (notifications, phones). Not built yet.

use actix_web::web;

/// Routes under `/api/v1` (minting links).
pub fn configure_api(_cfg: &mut web::ServiceConfig) {}

/// The pages outside `/api/v1` (`/approve/{token}`).
pub fn configure_pages(_cfg: &mut web::ServiceConfig) {}
