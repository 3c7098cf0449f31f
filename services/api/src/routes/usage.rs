use super::resource;
use crate::auth::Authz;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use rc_auth::perm;
use rc_domain::usage::{UsageBlock, UsageQuery, UsageRow};
use rc_errors::{AppResult, ErrorBody};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/usage").get(report))
        .service(resource("/usage/block").get(block));
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

/// The caller's current rolling 5-hour usage block in the selected organisation (Claude-style
/// billing window: it starts at the hour of the first usage after the previous block ended).
/// Everyone, viewers included, sees their own block.
#[utoipa::path(operation_id = "usage_block", get, path = "/api/v1/usage/block", tag = "usage",
    responses((status = 200, body = UsageBlock), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn block(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::UsageRead>,
) -> AppResult<HttpResponse> {
    let now = chrono::Utc::now();
    Ok(HttpResponse::Ok().json(rc_domain::usage::block(&state.domain.db, &g, now).await?))
}
