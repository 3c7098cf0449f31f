//! Approvals: Claude's permission requests waiting for a person, and their decisions.

use super::resource;
use crate::auth::Authz;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use rc_auth::perm;
use rc_domain::approvals::{Approval, Decide, Via};
use rc_errors::{AppResult, ErrorBody};
use uuid::Uuid;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/approvals").get(pending))
        .service(resource("/approvals/{id}").get(get))
        .service(resource("/approvals/{id}/decision").post(decide));
}

/// Undecided requests on every session the caller can see, oldest first.
#[utoipa::path(operation_id = "approvals_pending", get, path = "/api/v1/approvals", tag = "approvals",
    responses((status = 200, body = Vec<Approval>), (status = 401, body = ErrorBody)))]
pub async fn pending(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::SessionsRead>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(rc_domain::approvals::pending(&state.domain, &g).await?))
}

#[utoipa::path(operation_id = "approvals_get", get, path = "/api/v1/approvals/{id}", tag = "approvals", params(("id" = Uuid, Path)),
    responses((status = 200, body = Approval), (status = 404, body = ErrorBody)))]
pub async fn get(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::SessionsRead>,
    path: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(rc_domain::approvals::get(&state.domain, &g, path.into_inner()).await?))
}

/// Decides a request: allow, always (session, or organization for admins) or deny with an
/// optional message. The first decision wins; later ones get 409.
#[utoipa::path(operation_id = "approvals_decide", post, path = "/api/v1/approvals/{id}/decision", tag = "approvals", params(("id" = Uuid, Path)), request_body = Decide,
    responses((status = 200, body = Approval), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn decide(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::TasksWrite>,
    path: web::Path<Uuid>,
    body: web::Json<Decide>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        rc_domain::approvals::decide(
            &state.domain,
            &g,
            path.into_inner(),
            body.into_inner(),
            Via::Rest,
        )
        .await?,
    ))
}
