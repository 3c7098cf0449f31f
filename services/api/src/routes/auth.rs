//! Login and logout endpoints.

use super::resource;
use crate::auth::extract::{request_meta, Caller};
use crate::auth::live::Change;
use crate::auth::oidc::safe_return_path;
use crate::auth::{CSRF_COOKIE, SESSION_COOKIE};
use crate::state::AppState;
use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::{web, HttpRequest, HttpResponse};
use rc_errors::{AppError, AppResult, ErrorBody, ErrorCode};
use serde::{Deserialize, Serialize};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/auth/config").get(config))
        .service(resource("/auth/dev-login").post(dev_login))
        .service(resource("/auth/oidc/login").get(oidc_login))
        .service(resource("/auth/oidc/callback").get(oidc_callback))
        .service(resource("/auth/logout").post(logout));
}

/// Binds a pending OIDC login to the browser that started it.
const OIDC_STATE_COOKIE: &str = "rc_oidc_state";

/// Which login methods this installation offers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuthConfig {
    pub oidc: bool,
    pub dev_login: bool,
}

#[utoipa::path(operation_id = "auth_config", get, path = "/api/v1/auth/config", tag = "auth", responses((status = 200, body = AuthConfig)))]
pub async fn config(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(AuthConfig {
        oidc: state.oidc.is_some(),
        dev_login: state.settings().dev_login_enabled(),
    })
}

fn session_cookies(
    state: &AppState,
    sid: String,
    csrf: String,
) -> (Cookie<'static>, Cookie<'static>) {
    let secure = state.settings().cookie_secure();
    let max_age =
        CookieDuration::seconds(i64::try_from(state.logins.ttl_secs()).unwrap_or(i64::MAX));
    let session = Cookie::build(SESSION_COOKIE, sid)
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(max_age)
        .finish();
    let csrf = Cookie::build(CSRF_COOKIE, csrf)
        .http_only(false)
        .secure(secure)
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(max_age)
        .finish();
    (session, csrf)
}

/// Body of a successful dev login.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginResult {
    pub user: rc_domain::login::User,
    pub csrf_token: String,
}

/// One-click local login as `dev@localhost` — dev profile only, refused in production.
#[utoipa::path(operation_id = "dev_login", post, path = "/api/v1/auth/dev-login", tag = "auth", responses((status = 200, body = LoginResult), (status = 403, body = ErrorBody)))]
pub async fn dev_login(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    if !state.settings().dev_login_enabled() {
        return Err(AppError::new(
            ErrorCode::FeatureDisabled,
            "the dev login is disabled (production profile, or single sign-on is configured)",
        ));
    }
    let identity = rc_domain::login::Identity {
        issuer: None,
        subject: None,
        email: "dev@localhost.localdomain".into(),
        email_verified: true,
        display_name: "Developer".into(),
    };
    // Allow-lists do not apply to the dev login: it exists only on developer machines.
    let settings = rc_config::AuthSettings {
        allowed_emails: vec![],
        allowed_domains: vec![],
        ..state.settings().auth.clone()
    };
    let user =
        rc_domain::login::login(&state.domain.db, &settings, identity, &request_meta(&req)).await?;
    let (sid, session) = state.logins.create(user.id).await?;
    let (c1, c2) = session_cookies(&state, sid, session.csrf.clone());
    Ok(HttpResponse::Ok().cookie(c1).cookie(c2).json(LoginResult {
        user,
        csrf_token: session.csrf,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LoginQuery {
    /// Path to return to after login (same origin only).
    pub return_to: Option<String>,
}

/// Redirects the browser to the identity provider.
#[utoipa::path(operation_id = "oidc_login", get, path = "/api/v1/auth/oidc/login", tag = "auth", params(LoginQuery), responses((status = 302, description = "to the identity provider"), (status = 303, description = "back to /login with an error")))]
pub async fn oidc_login(state: web::Data<AppState>, query: web::Query<LoginQuery>) -> HttpResponse {
    let Some(oidc) = state.oidc.clone() else {
        return login_error_redirect(&AppError::new(
            ErrorCode::FeatureDisabled,
            "single sign-on is not configured",
        ));
    };
    match oidc
        .start(&state, &safe_return_path(query.return_to.as_deref()))
        .await
    {
        // The state also goes into a cookie of this browser: the callback must come back to the
        // browser that started the login, or an attacker could log a victim into the
        // attacker's account with a callback URL of their own (login CSRF).
        Ok((url, login_state)) => HttpResponse::Found()
            .cookie(
                Cookie::build(OIDC_STATE_COOKIE, login_state)
                    .http_only(true)
                    .secure(state.settings().cookie_secure())
                    .same_site(SameSite::Lax)
                    .path("/api/v1/auth/oidc")
                    .max_age(CookieDuration::minutes(10))
                    .finish(),
            )
            .insert_header(("location", url))
            .finish(),
        Err(err) => {
            err.log();
            login_error_redirect(&err)
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    /// Set by the provider when the user declined or login failed there.
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// The browser's errors go to the login page as a message, not as a JSON body it cannot show.
fn login_error_redirect(err: &AppError) -> HttpResponse {
    let location = format!(
        "/login?error={}&code={}",
        urlencode(&err.message),
        err.code.as_str()
    );
    HttpResponse::SeeOther()
        .insert_header(("location", location))
        .finish()
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The identity provider returns here; on success sets the session cookie and redirects.
#[utoipa::path(operation_id = "oidc_callback", get, path = "/api/v1/auth/oidc/callback", tag = "auth", params(CallbackQuery), responses((status = 303, description = "to the app, or to /login with an error")))]
pub async fn oidc_callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<CallbackQuery>,
) -> HttpResponse {
    let result: AppResult<HttpResponse> = async {
        let oidc = state.oidc.clone().ok_or_else(|| {
            AppError::new(
                ErrorCode::FeatureDisabled,
                "single sign-on is not configured",
            )
        })?;
        if let Some(error) = &query.error {
            let detail = query.error_description.clone().unwrap_or_default();
            return Err(AppError::new(
                ErrorCode::LoginFailed,
                format!("the identity provider refused the login: {error} {detail}")
                    .trim()
                    .to_owned(),
            ));
        }
        let (Some(code), Some(csrf_state)) = (&query.code, &query.state) else {
            return Err(AppError::new(
                ErrorCode::LoginFailed,
                "the callback lacks code or state",
            ));
        };
        let bound = req.cookie(OIDC_STATE_COOKIE).map(|c| c.value().to_owned());
        if bound.as_deref() != Some(csrf_state.as_str()) {
            return Err(AppError::new(
                ErrorCode::LoginFailed,
                "this login was started in another browser or has expired; start again",
            ));
        }
        let (identity, return_to) = oidc.finish(&state, code, csrf_state).await?;
        let user = rc_domain::login::login(
            &state.domain.db,
            &state.settings().auth,
            identity,
            &request_meta(&req),
        )
        .await?;
        let (sid, session) = state.logins.create(user.id).await?;
        let (c1, c2) = session_cookies(&state, sid, session.csrf);
        Ok(HttpResponse::SeeOther()
            .cookie(c1)
            .cookie(c2)
            .insert_header(("location", return_to))
            .finish())
    }
    .await;
    result.unwrap_or_else(|err| {
        err.log();
        login_error_redirect(&err)
    })
}

/// Revokes the login session (browser) — API tokens are revoked through /tokens.
#[utoipa::path(operation_id = "auth_logout", post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
) -> AppResult<HttpResponse> {
    let Caller::Browser { login, user_id, .. } = caller else {
        return Err(AppError::validation(
            "authorization",
            "API tokens do not log out; revoke the token instead",
        ));
    };
    state.logins.revoke(&login).await?;
    state.rights_changed(Change::User(user_id));
    // Other api processes' sockets of this login too (no trigger sees Redis).
    if let Err(err) =
        rc_domain::session_changes::announce_rights_change(&state.domain.db, user_id).await
    {
        tracing::warn!(%err, "logout not announced to other api processes; their periodic checks will notice");
    }
    rc_domain::login::record_logout(&state.domain.db, user_id, &request_meta(&req)).await?;
    let mut expired_session = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    expired_session.make_removal();
    let mut expired_csrf = Cookie::build(CSRF_COOKIE, "").path("/").finish();
    expired_csrf.make_removal();
    Ok(HttpResponse::NoContent()
        .cookie(expired_session)
        .cookie(expired_csrf)
        .finish())
}
