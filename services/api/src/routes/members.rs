use super::resource;
use crate::auth::extract::request_meta;
use crate::auth::live::Change;
use crate::auth::{Authz, Caller};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use rc_auth::perm;
use rc_domain::invitations::{CreateInvitation, CreatedInvitation, Invitation};
use rc_domain::members::{ChangeRole, Member};
use rc_errors::{AppResult, ErrorBody};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/members").get(list))
        .service(
            resource("/members/{user_id}")
                .patch(change_role)
                .delete(remove),
        )
        .service(resource("/invitations").get(list_invitations).post(invite))
        .service(resource("/invitations/accept").post(accept))
        .service(resource("/invitations/{id}").delete(revoke_invitation));
}

#[utoipa::path(operation_id = "members_list", get, path = "/api/v1/members", tag = "members", responses((status = 200, body = Vec<Member>), (status = 401, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::MembersRead>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(rc_domain::members::list(&state.domain.db, &g).await?))
}

#[utoipa::path(operation_id = "change_role", patch, path = "/api/v1/members/{user_id}", tag = "members", params(("user_id" = Uuid, Path)), request_body = ChangeRole,
    responses((status = 200, body = Member), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn change_role(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::MembersManage>,
    path: web::Path<Uuid>,
    body: web::Json<ChangeRole>,
) -> AppResult<HttpResponse> {
    let user_id = path.into_inner();
    let changed =
        rc_domain::members::change_role(&state.domain.db, &g, user_id, body.into_inner()).await;
    // Also when the change committed but reading the result back failed.
    state.rights_changed(Change::User(user_id));
    Ok(HttpResponse::Ok().json(changed?))
}

#[utoipa::path(operation_id = "members_remove", delete, path = "/api/v1/members/{user_id}", tag = "members", params(("user_id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn remove(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::MembersManage>,
    path: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let user_id = path.into_inner();
    let removed = rc_domain::members::remove(&state.domain.db, &g, user_id).await;
    state.rights_changed(Change::User(user_id));
    removed?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(operation_id = "list_invitations", get, path = "/api/v1/invitations", tag = "members", responses((status = 200, body = Vec<Invitation>), (status = 403, body = ErrorBody)))]
pub async fn list_invitations(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::MembersManage>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(rc_domain::invitations::list(&state.domain.db, &g).await?))
}

/// Invites an e-mail address; the response holds the secret link, shown only once.
#[utoipa::path(operation_id = "members_invite", post, path = "/api/v1/invitations", tag = "members", request_body = CreateInvitation,
    responses((status = 201, body = CreatedInvitation), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn invite(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::MembersManage>,
    body: web::Json<CreateInvitation>,
) -> AppResult<HttpResponse> {
    let settings = state.settings();
    let created = rc_domain::invitations::create(
        &state.domain.db,
        &g,
        &settings.api.public_url,
        settings.auth.invitation_ttl_secs,
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Created().json(created))
}

#[utoipa::path(operation_id = "revoke_invitation", delete, path = "/api/v1/invitations/{id}", tag = "members", params(("id" = Uuid, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_invitation(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::MembersManage>,
    path: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    rc_domain::invitations::revoke(&state.domain.db, &g, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    pub token: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Accepted {
    pub org_id: Uuid,
}

/// The signed-in user joins the organisation of the invitation addressed to their e-mail.
#[utoipa::path(operation_id = "members_accept", post, path = "/api/v1/invitations/accept", tag = "members", request_body = AcceptInvitation,
    responses((status = 200, body = Accepted), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn accept(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<AcceptInvitation>,
) -> AppResult<HttpResponse> {
    // Joining an organisation is a decision of the person, not of an API client: a token (of
    // any scope, bound to another organisation) must not be able to do it.
    if matches!(caller, Caller::Token(_)) {
        return Err(rc_errors::AppError::forbidden(
            "invitations are accepted in the browser, not with an API token",
        ));
    }
    let org_id = rc_domain::invitations::accept(
        &state.domain.db,
        caller.user_id(),
        &request_meta(&req),
        &body.token,
    )
    .await?;
    Ok(HttpResponse::Ok().json(Accepted { org_id }))
}
