use super::resource;
use crate::auth::extract::request_meta;
use crate::auth::{Authz, Caller};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use rc_auth::perm;
use rc_domain::orgs::{CreateOrganization, Organization, UpdateOrganization};
use rc_errors::{AppError, AppResult, ErrorBody};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/organizations").get(list).post(create))
        .service(resource("/organization").get(current).patch(update));
}

/// Organisations the caller belongs to.
#[utoipa::path(operation_id = "orgs_list", get, path = "/api/v1/organizations", tag = "organizations", responses((status = 200, body = Vec<Organization>), (status = 401, body = ErrorBody)))]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> AppResult<HttpResponse> {
    let mut orgs = rc_domain::orgs::list_for_user(&state.domain.db, caller.user_id()).await?;
    if let Caller::Token(actor) = &caller {
        orgs.retain(|o| o.id == actor.org_id);
    }
    Ok(HttpResponse::Ok().json(orgs))
}

/// Creates an organisation owned by the caller (browser sessions only).
#[utoipa::path(operation_id = "orgs_create", post, path = "/api/v1/organizations", tag = "organizations", request_body = CreateOrganization, responses((status = 201, body = Organization), (status = 400, body = ErrorBody)))]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CreateOrganization>,
) -> AppResult<HttpResponse> {
    let Caller::Browser { user_id, .. } = caller else {
        return Err(AppError::forbidden(
            "API tokens are bound to one organization and cannot create others",
        ));
    };
    let user = rc_domain::login::get_user(&state.domain.db, user_id).await?;
    let org = rc_domain::orgs::create(
        &state.domain.db,
        user_id,
        &user.email,
        &request_meta(&req),
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Created().json(org))
}

/// The organisation selected by `X-Org-Id` (default: the caller's first).
#[utoipa::path(operation_id = "orgs_current", get, path = "/api/v1/organization", tag = "organizations", responses((status = 200, body = Organization), (status = 404, body = ErrorBody)))]
pub async fn current(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::OrgRead>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(rc_domain::orgs::current(&state.domain.db, &g).await?))
}

/// Renames the organisation or replaces its policy (owners).
#[utoipa::path(operation_id = "orgs_update", patch, path = "/api/v1/organization", tag = "organizations", request_body = UpdateOrganization, responses((status = 200, body = Organization), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn update(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::OrgManage>,
    body: web::Json<UpdateOrganization>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(rc_domain::orgs::update(&state.domain.db, &g, body.into_inner()).await?))
}
