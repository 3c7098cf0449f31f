//! REST handlers: authenticate and authorise via the extractors, call the domain, serialise.
//! Nothing here decides business rules.

pub mod approval_links;
pub mod approvals;
pub mod audit;
pub mod auth;
pub mod events;
pub mod files;
pub mod files_doc;
pub mod frontend;
pub mod me;
pub mod members;
pub mod orgs;
pub mod push;
pub mod session_changes;
pub mod sessions;
pub mod tasks;
pub mod terminal;
pub mod tokens;
pub mod usage;
mod ws;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .configure(auth::configure)
            .configure(me::configure)
            .configure(orgs::configure)
            .configure(members::configure)
            .configure(tokens::configure)
            .configure(session_changes::configure)
            .configure(sessions::configure)
            .configure(tasks::configure)
            .configure(events::configure)
            .configure(files::configure)
            .configure(terminal::configure)
            .configure(approvals::configure)
            .configure(approval_links::configure_api)
            .configure(audit::configure)
            .configure(usage::configure)
            .configure(push::configure)
            .service(resource("/openapi.json").get(openapi_json))
            .default_service(web::to(crate::errors::route_not_found)),
    );
}

/// A route whose unsupported methods answer 405 in the catalogue's JSON shape.
pub(crate) fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(crate::errors::method_not_allowed))
}

async fn openapi_json() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .body(crate::openapi::document())
}

/// Pagination query parameters (documented once, used by every list).
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Opaque cursor from a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Page size, 1-200 (default 50).
    pub limit: Option<i64>,
}

impl From<PageParams> for rc_domain::PageRequest {
    fn from(p: PageParams) -> Self {
        Self {
            cursor: p.cursor,
            limit: p.limit,
        }
    }
}
