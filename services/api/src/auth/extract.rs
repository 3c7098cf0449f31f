//! Who is calling, and may they do this?
//!
//! [`Caller`] authenticates (bearer API token, or login-session cookie with CSRF and Origin
//! checks for mutations). [`Authz<P>`] additionally resolves the organisation and checks
//! permission `P`, yielding the [`Granted<P>`] that domain functions require — so a handler's
//! signature states its permission.

use super::live::{Changes, LiveCaller};
use super::store::{LoginRef, LoginSession};
use super::{CSRF_HEADER, ORG_HEADER, SESSION_COOKIE};
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures::future::LocalBoxFuture;
use rc_auth::{authorize, Actor, Credential, Granted, Permission, RequestMeta};
use rc_errors::{AppError, AppResult, ErrorCode};
use uuid::Uuid;

/// An authenticated caller, before choosing an organisation.
#[derive(Debug, Clone)]
pub enum Caller {
    /// Browser login; `login` names its login session (to log out, or to check it again).
    Browser {
        user_id: Uuid,
        login: LoginRef,
        session: LoginSession,
    },
    /// API token: already bound to one organisation.
    Token(Box<Actor>),
}

impl Caller {
    pub fn user_id(&self) -> Uuid {
        match self {
            Self::Browser { user_id, .. } => *user_id,
            Self::Token(actor) => actor.user_id,
        }
    }

    /// The caller acting in their selected organisation.
    pub async fn actor(
        &self,
        state: &AppState,
        req_org: Option<Uuid>,
        meta: RequestMeta,
    ) -> AppResult<Actor> {
        match self {
            Self::Token(actor) => {
                if req_org.is_some_and(|o| o != actor.org_id) {
                    // A token is bound to one organisation; others do not exist for it.
                    return Err(AppError::not_found("organization"));
                }
                Ok((**actor).clone())
            }
            Self::Browser { user_id, .. } => {
                rc_domain::login::resolve_actor(
                    &state.domain.db,
                    *user_id,
                    req_org,
                    Credential::LoginSession,
                    meta,
                )
                .await
            }
        }
    }
}

/// The client's address: the TCP peer, or — when the peer is a trusted reverse proxy — the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy. Entries further left
/// are client-controlled and never believed.
pub fn client_ip(
    peer: Option<std::net::IpAddr>,
    forwarded_for: Option<&str>,
    trusted: &[std::net::IpAddr],
) -> Option<std::net::IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let Some(header) = forwarded_for else {
        return Some(peer);
    };
    for hop in header.rsplit(',') {
        match hop.trim().parse::<std::net::IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => continue,
            Ok(ip) => return Some(ip),
            // A malformed hop: stop believing the header there.
            Err(_) => break,
        }
    }
    Some(peer)
}

/// [`client_ip`] for an actix request, with the configured trusted proxies.
pub fn request_client_ip(req: &HttpRequest) -> Option<std::net::IpAddr> {
    let trusted = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.settings().api.trusted_proxies.clone())
        .unwrap_or_default();
    let xff = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    client_ip(req.peer_addr().map(|a| a.ip()), xff, &trusted)
}

pub fn request_meta(req: &HttpRequest) -> RequestMeta {
    RequestMeta {
        ip: request_client_ip(req).map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect()),
        request_id: req
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(|id| id.to_string()),
    }
}

/// The organisation a cookie-authenticated caller selected: the `X-Org-Id` header, or an
/// `org_id` query parameter where headers cannot be set (download links, WebSocket upgrades).
/// Membership is checked afterwards, so either way a foreign organisation is "not found".
pub fn requested_org(req: &HttpRequest) -> AppResult<Option<Uuid>> {
    let bad = |field: &str| AppError::validation(field, "must be an organization id (UUID)");
    if let Some(v) = req.headers().get(ORG_HEADER) {
        return v
            .to_str()
            .ok()
            .and_then(|s| Uuid::parse_str(s.trim()).ok())
            .map(Some)
            .ok_or_else(|| bad(ORG_HEADER));
    }
    let query = url::form_urlencoded::parse(req.query_string().as_bytes());
    match query.into_iter().find(|(k, _)| k == "org_id") {
        Some((_, v)) => Uuid::parse_str(v.trim())
            .map(Some)
            .map_err(|_| bad("org_id")),
        None => Ok(None),
    }
}

pub(super) fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Whether a request could change state (and so needs CSRF protection when cookie-borne).
pub fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Origins allowed for cookie-authenticated mutations and WebSocket upgrades.
pub fn origin_allowed(state: &AppState, origin: &str) -> bool {
    let settings = state.settings();
    let own = url::Url::parse(&settings.api.public_url)
        .ok()
        .map(|u| u.origin().ascii_serialization());
    own.as_deref() == Some(origin)
        || settings
            .api
            .extra_origins
            .iter()
            .any(|o| o.trim_end_matches('/') == origin)
}

/// Refuses a WebSocket upgrade a browser makes from a foreign origin. WebSockets are not
/// covered by CORS: without this, any site could open a socket with the user's cookie.
/// Non-browser clients send no `Origin` and authenticate with a bearer token.
pub fn check_ws_origin(req: &HttpRequest, state: &AppState) -> AppResult<()> {
    reject_foreign_origin(req, state, "WebSocket connections")
}

/// An `Origin` header, when sent, must be the platform's own (or a configured extra one).
fn reject_foreign_origin(req: &HttpRequest, state: &AppState, what: &str) -> AppResult<()> {
    if let Some(origin) = req
        .headers()
        .get(actix_web::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    {
        if !origin_allowed(state, origin) {
            return Err(AppError::new(
                ErrorCode::CsrfRejected,
                format!("{what} from origin {origin} are not allowed"),
            ));
        }
    }
    Ok(())
}

fn record_span(req: &HttpRequest, user_id: Uuid, org_id: Option<Uuid>) {
    if let Some(span) = req.extensions().get::<tracing_actix_web::RootSpan>() {
        span.record("user_id", tracing::field::display(user_id));
        if let Some(org) = org_id {
            span.record("org_id", tracing::field::display(org));
        }
    }
}

pub async fn authenticate(req: &HttpRequest, state: &AppState) -> AppResult<Caller> {
    if let Some(token) = bearer(req) {
        rc_domain::tokens::well_formed(token)?;
        let actor = token_actor(state, &rc_auth::secret::hash(token), request_meta(req)).await?;
        record_span(req, actor.user_id, Some(actor.org_id));
        return Ok(Caller::Token(Box::new(actor)));
    }
    let sid = req
        .cookie(SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .ok_or_else(|| {
            AppError::unauthenticated("sign in, or send an API token as 'Authorization: Bearer …'")
        })?;
    let session = state
        .logins
        .get(&sid)
        .await?
        .ok_or_else(|| AppError::unauthenticated("your session has expired; sign in again"))?;
    if is_unsafe(req.method()) {
        check_csrf(req, state, &session)?;
    }
    record_span(req, session.user_id, None);
    Ok(Caller::Browser {
        user_id: session.user_id,
        login: LoginRef::of(&sid),
        session,
    })
}

/// The actor behind an API token's hash: from the short-lived cache, else the database (and
/// then cached).
pub(super) async fn token_actor(
    state: &AppState,
    hash: &[u8],
    meta: RequestMeta,
) -> AppResult<Actor> {
    if let Some(cached) = state.tokens.get(hash) {
        return Ok(Actor { meta, ..cached });
    }
    let actor = rc_domain::tokens::authenticate_hash(&state.domain.db, hash, meta).await?;
    state.tokens.insert(hash.to_vec(), actor.clone());
    Ok(actor)
}

/// Double-submit token plus Origin check: a cross-site form or fetch can carry the cookie but
/// can neither read the CSRF cookie nor forge the Origin header.
fn check_csrf(req: &HttpRequest, state: &AppState, session: &LoginSession) -> AppResult<()> {
    reject_foreign_origin(req, state, "requests")?;
    let sent = req
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if sent.is_empty() || !constant_time_eq(sent.as_bytes(), session.csrf.as_bytes()) {
        return Err(AppError::new(
            ErrorCode::CsrfRejected,
            format!("missing or invalid {CSRF_HEADER} header (GET /api/v1/me returns the token)"),
        ));
    }
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn state_of(req: &HttpRequest) -> AppResult<web::Data<AppState>> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("AppState missing from app data")))
}

impl FromRequest for Caller {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state_of(&req)?;
            Ok(authenticate(&req, &state).await?)
        })
    }
}

/// Extractor: the caller holds permission `P` in the selected organisation.
pub struct Authz<P: Permission>(pub Granted<P>);

impl<P: Permission> FromRequest for Authz<P> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state_of(&req)?;
            let (granted, _, _) = authorize_request::<P>(&req, &state).await?;
            Ok(Authz(granted))
        })
    }
}

/// Authenticates `req`, resolves its organisation and checks permission `P`.
async fn authorize_request<P: Permission>(
    req: &HttpRequest,
    state: &AppState,
) -> AppResult<(Granted<P>, Caller, Option<Uuid>)> {
    let caller = authenticate(req, state).await?;
    let org = requested_org(req)?;
    let actor = caller.actor(state, org, request_meta(req)).await?;
    record_span(req, actor.user_id, Some(actor.org_id));
    Ok((authorize::<P>(actor)?, caller, org))
}

/// Extractor for WebSocket upgrades: [`Authz<P>`] plus the [`LiveCaller`] that lets the
/// connection check its caller's rights again while it stays open, and the rights changes
/// announced since just before it was authorised.
pub struct AuthzLive<P: Permission>(pub Granted<P>, pub LiveCaller, pub Changes);

impl<P: Permission> FromRequest for AuthzLive<P> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state_of(&req)?;
            // Before authorising: a change made meanwhile must not be missed.
            let changes = state.rights.subscribe();
            let (granted, caller, org) = authorize_request::<P>(&req, &state).await?;
            let live = LiveCaller::new(&req, &state, &caller, org)?;
            Ok(AuthzLive(granted, live, changes))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::client_ip;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|_| panic!("{s}"))
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy = ip("10.0.0.2");
        let trusted = [proxy];
        // Untrusted peer: the header is ignored, whatever it says.
        assert_eq!(
            client_ip(Some(ip("203.0.113.9")), Some("1.2.3.4"), &trusted),
            Some(ip("203.0.113.9"))
        );
        // Trusted peer: the right-most non-proxy hop; spoofed entries to its left are ignored.
        assert_eq!(
            client_ip(Some(proxy), Some("6.6.6.6, 198.51.100.7"), &trusted),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(
            client_ip(Some(proxy), Some("198.51.100.7, 10.0.0.2"), &trusted),
            Some(ip("198.51.100.7"))
        );
        // Trusted peer without a usable header: the peer.
        assert_eq!(client_ip(Some(proxy), None, &trusted), Some(proxy));
        assert_eq!(
            client_ip(Some(proxy), Some("garbage"), &trusted),
            Some(proxy)
        );
    }
}
