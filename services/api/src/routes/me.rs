use super::resource;
use crate::auth::Caller;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use rc_domain::login::User;
use rc_domain::orgs::Organization;
use rc_errors::{AppResult, ErrorBody};
use serde::Serialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/me").get(me));
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub user: User,
    /// Organisations the caller belongs to, with their role in each (for a token: its one).
    pub organizations: Vec<Organization>,
    /// For browser sessions: send as `X-CSRF-Token` on mutations.
    pub csrf_token: Option<String>,
    /// Sessions talk to the scripted fake model (canned replies, not Claude): show it.
    pub scripted_model: bool,
}

#[utoipa::path(operation_id = "me_me", get, path = "/api/v1/me", tag = "me", responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(state: web::Data<AppState>, caller: Caller) -> AppResult<HttpResponse> {
    let user = rc_domain::login::get_user(&state.domain.db, caller.user_id()).await?;
    let mut organizations = rc_domain::orgs::list_for_user(&state.domain.db, user.id).await?;
    let csrf_token = match &caller {
        Caller::Browser { session, .. } => Some(session.csrf.clone()),
        Caller::Token(actor) => {
            organizations.retain(|o| o.id == actor.org_id);
            None
        }
    };
    Ok(HttpResponse::Ok().json(Me {
        user,
        organizations,
        csrf_token,
        scripted_model: state.settings().model_proxy.scripted_model,
    }))
}
