//! Web Push: the VAPID key browsers subscribe with, and the caller's subscriptions
//! (`rc_domain::push`; the worker sends the notifications, docs/push.md).

use super::resource;
use crate::auth::Authz;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use rc_auth::perm;
use rc_domain::push::{PushConfig, PushSubscription, SubscribePush, UnsubscribePush};
use rc_errors::{AppResult, ErrorBody};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/push/config").get(config)).service(
        resource("/push/subscriptions")
            .get(list)
            .post(subscribe)
            .delete(unsubscribe),
    );
}

/// Whether this installation sends push notifications, and the VAPID public key to pass to
/// `pushManager.subscribe({applicationServerKey})`.
#[utoipa::path(operation_id = "push_config", get, path = "/api/v1/push/config", tag = "push",
    responses((status = 200, body = PushConfig), (status = 401, body = ErrorBody)))]
pub async fn config(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::OrgRead>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(rc_domain::push::config(state.settings(), &g)?))
}

/// The caller's subscriptions in this organisation (without their keys).
#[utoipa::path(operation_id = "push_subscriptions_list", get, path = "/api/v1/push/subscriptions", tag = "push",
    responses((status = 200, body = Vec<PushSubscription>), (status = 401, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::OrgRead>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(rc_domain::push::list(&state.domain.db, &g).await?))
}

/// Stores this browser's subscription (the body may be `PushSubscription.toJSON()`); the
/// same endpoint again replaces it. Notifications: permission requests (with a one-tap
/// approval link) and finished turns on the caller's sessions.
#[utoipa::path(operation_id = "push_subscribe", post, path = "/api/v1/push/subscriptions", tag = "push", request_body = SubscribePush,
    responses((status = 201, body = PushSubscription), (status = 400, body = ErrorBody, description = "`field` names the bad value: endpoint, keys.p256dh or keys.auth"),
        (status = 401, body = ErrorBody)))]
pub async fn subscribe(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::OrgRead>,
    body: web::Json<SubscribePush>,
) -> AppResult<HttpResponse> {
    let sub = rc_domain::push::subscribe(&state.domain.db, state.settings(), &g, body.into_inner())
        .await?;
    Ok(HttpResponse::Created().json(sub))
}

/// Removes the caller's subscription with this endpoint (after `PushSubscription.unsubscribe()`).
#[utoipa::path(operation_id = "push_unsubscribe", delete, path = "/api/v1/push/subscriptions", tag = "push", request_body = UnsubscribePush,
    responses((status = 204, description = "Removed"), (status = 404, body = ErrorBody, description = "The caller has no subscription with this endpoint here"),
        (status = 401, body = ErrorBody)))]
pub async fn unsubscribe(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::OrgRead>,
    body: web::Json<UnsubscribePush>,
) -> AppResult<HttpResponse> {
    rc_domain::push::unsubscribe(&state.domain.db, &g, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
