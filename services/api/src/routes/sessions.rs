use super::resource;
use super::PageParams;
use crate::auth::live::Change;
use crate::auth::Authz;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use rc_auth::perm;
use rc_domain::sessions::{CreateSession, Session, SessionAction, SessionFilter, UpdateSession};
use rc_domain::Page;
use rc_errors::{AppResult, ErrorBody};
use uuid::Uuid;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/sessions").get(list).post(create))
        .service(
            resource("/sessions/{id}")
                .get(get)
                .patch(update)
                .delete(delete),
        )
        .service(resource("/sessions/{id}/clear").post(clear))
        .service(resource("/sessions/{id}/restart").post(restart))
        .service(resource("/sessions/{id}/stop").post(stop))
        .service(resource("/sessions/{id}/start").post(start));
}

/// Sessions visible to the caller (members: their own), newest first.
#[utoipa::path(operation_id = "sessions_list", get, path = "/api/v1/sessions", tag = "sessions", params(SessionFilter, PageParams),
    responses((status = 200, body = Page<Session>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::SessionsRead>,
    filter: web::Query<SessionFilter>,
    page: web::Query<PageParams>,
) -> AppResult<HttpResponse> {
    let page =
        rc_domain::sessions::list(&state.domain, &g, &filter, &page.into_inner().into()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Creates a session record (state `pending`) and asks session-manager to build its sandbox.
#[utoipa::path(operation_id = "sessions_create", post, path = "/api/v1/sessions", tag = "sessions", request_body = CreateSession,
    responses((status = 201, body = Session), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::SessionsWrite>,
    body: web::Json<CreateSession>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Created()
        .json(rc_domain::sessions::create(&state.domain, &g, body.into_inner()).await?))
}

#[utoipa::path(operation_id = "sessions_get", get, path = "/api/v1/sessions/{id}", tag = "sessions", params(("id" = Uuid, Path)), responses((status = 200, body = Session), (status = 404, body = ErrorBody)))]
pub async fn get(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::SessionsRead>,
    path: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(rc_domain::sessions::get(&state.domain, &g, path.into_inner()).await?))
}

/// Stops the sandbox (state `stopping`, then `stopped` once session-manager is done).
#[utoipa::path(operation_id = "sessions_stop", post, path = "/api/v1/sessions/{id}/stop", tag = "sessions", params(("id" = Uuid, Path)),
    responses((status = 200, body = Session), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn stop(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::SessionsWrite>,
    path: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(rc_domain::sessions::stop(&state.domain, &g, path.into_inner()).await?))
}

/// Starts a stopped session again with its workspace and conversation (state `pending`, then
/// `running` once its new sandbox is up).
#[utoipa::path(operation_id = "sessions_start", post, path = "/api/v1/sessions/{id}/start", tag = "sessions", params(("id" = Uuid, Path)),
    responses((status = 200, body = Session), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn start(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::SessionsWrite>,
    path: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(rc_domain::sessions::start(&state.domain, &g, path.into_inner()).await?))
}

/// Deletes the session: it disappears from lists, its sandbox and volumes are removed.
#[utoipa::path(operation_id = "sessions_delete", delete, path = "/api/v1/sessions/{id}", tag = "sessions", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::SessionsWrite>,
    path: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    rc_domain::sessions::delete(&state.domain, &g, id).await?;
    // Its open feeds and terminals close now, not at their next periodic check.
    state.rights_changed(Change::Session(id));
    Ok(HttpResponse::NoContent().finish())
}

/// Changes the model and/or permission mode; a running Claude process switches at once.
#[utoipa::path(operation_id = "sessions_update", patch, path = "/api/v1/sessions/{id}", tag = "sessions", params(("id" = Uuid, Path)), request_body = UpdateSession,
    responses((status = 200, body = Session), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::SessionsWrite>,
    path: web::Path<Uuid>,
    body: web::Json<UpdateSession>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        rc_domain::sessions::update(&state.domain, &g, path.into_inner(), body.into_inner())
            .await?,
    ))
}

/// `/clear`: the next prompt starts a new Claude conversation in the same sandbox (409 while
/// a turn runs).
#[utoipa::path(operation_id = "sessions_clear", post, path = "/api/v1/sessions/{id}/clear", tag = "sessions", params(("id" = Uuid, Path)),
    responses((status = 200, body = Session), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn clear(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::SessionsWrite>,
    path: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        rc_domain::sessions::control(&state.domain, &g, path.into_inner(), SessionAction::Clear)
            .await?,
    ))
}

/// Restarts the sandbox container; the conversation resumes (409 while a turn runs).
#[utoipa::path(operation_id = "sessions_restart", post, path = "/api/v1/sessions/{id}/restart", tag = "sessions", params(("id" = Uuid, Path)),
    responses((status = 200, body = Session), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn restart(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::SessionsWrite>,
    path: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        rc_domain::sessions::control(&state.domain, &g, path.into_inner(), SessionAction::Restart)
            .await?,
    ))
}
