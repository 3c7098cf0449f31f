use super::resource;
use super::PageParams;
use crate::auth::Authz;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use rc_auth::perm;
use rc_domain::tasks::{CreateTask, ReorderQueue, Task};
use rc_domain::Page;
use rc_errors::{AppResult, ErrorBody};
use uuid::Uuid;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/sessions/{id}/tasks")
            // A prompt may carry images (base64): more than the api's usual body limit.
            .app_data(crate::errors::json_config(
                rc_domain::tasks::MAX_CREATE_BODY_BYTES,
            ))
            .get(list)
            .post(create),
    )
    .service(resource("/sessions/{id}/queue").get(queue).put(reorder))
    .service(resource("/tasks/{id}").get(get))
    .service(resource("/tasks/{id}/cancel").post(cancel));
}

#[utoipa::path(operation_id = "tasks_list", get, path = "/api/v1/sessions/{id}/tasks", tag = "tasks", params(("id" = Uuid, Path), PageParams),
    responses((status = 200, body = Page<Task>), (status = 404, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::TasksRead>,
    path: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        rc_domain::tasks::list(
            &state.domain,
            &g,
            path.into_inner(),
            &page.into_inner().into(),
        )
        .await?,
    ))
}

/// Queues a prompt on the session, optionally with images (at most 4, at most 5 MiB in all).
#[utoipa::path(operation_id = "tasks_create", post, path = "/api/v1/sessions/{id}/tasks", tag = "tasks", params(("id" = Uuid, Path)), request_body = CreateTask,
    responses((status = 201, body = Task), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::TasksWrite>,
    path: web::Path<Uuid>,
    body: web::Json<CreateTask>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Created().json(
        rc_domain::tasks::create(&state.domain, &g, path.into_inner(), body.into_inner()).await?,
    ))
}

#[utoipa::path(operation_id = "tasks_get", get, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = Uuid, Path)), responses((status = 200, body = Task), (status = 404, body = ErrorBody)))]
pub async fn get(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::TasksRead>,
    path: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(rc_domain::tasks::get(&state.domain, &g, path.into_inner()).await?))
}

/// Cancels a queued task, or requests the interrupt of a running one.
#[utoipa::path(operation_id = "tasks_cancel", post, path = "/api/v1/tasks/{id}/cancel", tag = "tasks", params(("id" = Uuid, Path)),
    responses((status = 200, body = Task), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cancel(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::TasksWrite>,
    path: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(rc_domain::tasks::cancel(&state.domain, &g, path.into_inner()).await?))
}

/// The session's waiting tasks in the order they will run (the running task is not listed).
#[utoipa::path(operation_id = "queue_get", get, path = "/api/v1/sessions/{id}/queue", tag = "tasks", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<Task>), (status = 404, body = ErrorBody)))]
pub async fn queue(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::TasksRead>,
    path: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(rc_domain::tasks::queue(&state.domain, &g, path.into_inner()).await?))
}

/// Reorders the waiting tasks: `task_ids` must list every waiting task once (409 when the
/// queue changed meanwhile: reload and retry).
#[utoipa::path(operation_id = "queue_reorder", put, path = "/api/v1/sessions/{id}/queue", tag = "tasks", params(("id" = Uuid, Path)), request_body = ReorderQueue,
    responses((status = 200, body = Vec<Task>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn reorder(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::TasksWrite>,
    path: web::Path<Uuid>,
    body: web::Json<ReorderQueue>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        rc_domain::tasks::reorder(&state.domain, &g, path.into_inner(), body.into_inner()).await?,
    ))
}
