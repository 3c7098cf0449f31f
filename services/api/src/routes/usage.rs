use super::resource;
use crate::auth::Authz;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use rc_auth::perm;
use rc_domain::usage::{UsageQuery, UsageRow};
use rc_errors::{AppResult, ErrorBody};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/usage").get(report));
}

/// Token and cost totals grouped by user, session or day (members: their own usage only).
#[utoipa::path(operation_id = "usage_report", get, path = "/api/v1/usage", tag = "usage", params(UsageQuery), responses((status = 200, body = Vec<UsageRow>), (status = 400, body = ErrorBody)))]
pub async fn report(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::UsageRead>,
    query: web::Query<UsageQuery>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(rc_domain::usage::report(&state.domain.db, &g, &query).await?))
}
