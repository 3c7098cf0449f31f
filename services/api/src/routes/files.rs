//! A session's files, snapshots and artifacts: authorised here (`rc_domain::files`), served by
//! file-service, whose internal API this forwards to with streamed bodies both ways
//! (docs/files.md has the operations):
//!
//! * `/api/v1/sessions/{id}/files/{tree,stat,content,create,rename,upload,zip}` and
//!   `DELETE /api/v1/sessions/{id}/files?path=…`
//! * `/api/v1/sessions/{id}/snapshots` (create, list), `…/snapshots/{snapshot}/restore`
//! * `/api/v1/sessions/{id}/artifacts` (share a file), `…/artifacts/{artifact}/url`
//!
//! Reads (GET) need the right to see the session; everything else the right to change it.
//! The caller's own credentials never reach file-service: it gets the internal token and the
//! identity the api established, in headers a client cannot inject (they are rebuilt here).

use crate::auth::Authz;
use crate::state::AppState;
use actix_web::http::header::{self, HeaderName};
use actix_web::{web, HttpRequest, HttpResponse};
use rc_auth::perm;
use rc_domain::files::ChangeRequest;
use rc_errors::{AppError, AppResult};
use std::time::Duration;
use uuid::Uuid;

/// Request headers a client may pass on; everything else stays here.
const FORWARDED_REQUEST: [HeaderName; 4] = [
    header::CONTENT_TYPE,
    header::IF_MATCH,
    header::IF_NONE_MATCH,
    header::ACCEPT,
];
/// Response headers file-service's answer keeps.
const FORWARDED_RESPONSE: [HeaderName; 4] = [
    header::CONTENT_TYPE,
    header::ETAG,
    header::CONTENT_DISPOSITION,
    header::RETRY_AFTER,
];
/// Uploads, zips and snapshots of big workspaces take a while.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(3600);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/sessions/{id}/{kind:files|snapshots|artifacts}{rest:(?:/.*)?}").to(forward),
    );
}

/// Per worker: actix's client is not `Send`, so each worker thread builds its own.
struct Client(awc::Client);

thread_local! {
    static CLIENT: Client = Client(
        awc::Client::builder()
            .timeout(FORWARD_TIMEOUT)
            .disable_redirects()
            .finish(),
    );
}

async fn forward(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    Authz(g): Authz<perm::SessionsRead>,
    path: web::Path<(Uuid, String, String)>,
) -> AppResult<HttpResponse> {
    let (session_id, kind, rest) = path.into_inner();
    let operation = match req.query_string() {
        "" => format!("{kind}{rest}"),
        query => format!("{kind}{rest}?{query}"),
    };
    let method = req.method().clone();
    let change = (method != actix_web::http::Method::GET
        && method != actix_web::http::Method::HEAD)
        .then(|| ChangeRequest {
            method: method.as_str(),
            operation: &operation,
        });
    let access = rc_domain::files::authorize(&state.domain, &g, session_id, change).await?;
    let settings = &state.settings().file_service;
    let url = format!(
        "{}/internal/v1/{operation}",
        settings.internal_url.trim_end_matches('/')
    );
    let client = CLIENT.with(|c| c.0.clone());
    let mut outbound = client
        .request(method, url)
        .insert_header((
            header::AUTHORIZATION,
            format!("Bearer {}", settings.internal_token.expose()),
        ))
        .insert_header(("x-rc-org-id", access.org_id.to_string()))
        .insert_header(("x-rc-session-id", access.session_id.to_string()))
        .insert_header(("x-rc-user-id", access.user_id.to_string()))
        .insert_header(("x-rc-right", access.right.as_str()));
    for name in FORWARDED_REQUEST {
        if let Some(value) = req.headers().get(&name) {
            outbound = outbound.insert_header((name, value.clone()));
        }
    }
    let response = outbound
        .send_stream(payload)
        .await
        .map_err(|err| AppError::unavailable("the file service", anyhow::anyhow!("{err}")))?;
    let mut reply = HttpResponse::build(response.status());
    for name in FORWARDED_RESPONSE {
        if let Some(value) = response.headers().get(&name) {
            reply.insert_header((name, value.clone()));
        }
    }
    Ok(reply.streaming(response))
}
