use super::resource;
use crate::auth::live::Change;
use crate::auth::Authz;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use rc_auth::perm;
use rc_domain::tokens::{ApiToken, CreateToken, CreatedToken};
use rc_errors::{AppResult, ErrorBody};
use uuid::Uuid;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/tokens").get(list).post(create))
        .service(resource("/tokens/{id}").delete(revoke));
}

/// The caller's API tokens in this organisation (never the secrets).
#[utoipa::path(operation_id = "tokens_list", get, path = "/api/v1/tokens", tag = "tokens", responses((status = 200, body = Vec<ApiToken>), (status = 401, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::TokensManage>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(rc_domain::tokens::list(&state.domain.db, &g).await?))
}

/// Creates a token; the secret is in this response only.
#[utoipa::path(operation_id = "tokens_create", post, path = "/api/v1/tokens", tag = "tokens", request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 400, body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::TokensManage>,
    body: web::Json<CreateToken>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Created()
        .json(rc_domain::tokens::create(&state.domain.db, &g, body.into_inner()).await?))
}

#[utoipa::path(operation_id = "tokens_revoke", delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = Uuid, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::TokensManage>,
    path: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let owner = rc_domain::tokens::revoke(&state.domain.db, &g, path.into_inner()).await?;
    state.rights_changed(Change::User(owner));
    Ok(HttpResponse::NoContent().finish())
}
