//! Signed approval links: a one-tap decision page that works without a login cookie
//! (notifications, phones). Minting is an ordinary authenticated API call; the pages are
//! outside `/api/v1` and authenticate by the token in their path alone.
//!
//! Why the pages are safe without CSRF tokens: no ambient credential (cookie) is read — the
//! unguessable, signed, single-use token in the URL is the whole credential, so a forged
//! cross-site request cannot carry it. A GET only shows the request (link previewers and mail
//! scanners fetch links); only the form's POST decides. The pages send `no-store`, a
//! `no-referrer` policy (the token must not leak to anything the page links to — it links
//! to nothing) and a CSP allowing only their own inline style and same-origin form posts.

use super::resource;
use crate::auth::extract::request_meta;
use crate::auth::Authz;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use rc_auth::perm;
use rc_domain::approval_links::{self, ApprovalLink, LinkError, LinkView};
use rc_domain::approvals::{Approval, Decide, Decision, MAX_MESSAGE_CHARS};
use rc_errors::{AppResult, ErrorBody};
use std::sync::OnceLock;
use uuid::Uuid;

/// Routes under `/api/v1` (minting links).
pub fn configure_api(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/approvals/{id}/link").post(create));
}

/// The pages outside `/api/v1` (`/approve/{token}`).
pub fn configure_pages(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/approve/{token}")
            .get(page)
            .post(submit)
            // The catalogue's 405 echoes the path, which here holds the token.
            .default_service(web::to(|| async {
                html(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "Not supported",
                    "<p>Open this link in a browser.</p>",
                )
            })),
    );
}

/// Creates a signed link that decides this pending request once, without a login, as the
/// caller, until `expires_at` (`approvals.link_ttl_secs`, default 5 minutes). Needs the same
/// rights as deciding.
#[utoipa::path(operation_id = "approvals_create_link", post, path = "/api/v1/approvals/{id}/link", tag = "approvals", params(("id" = Uuid, Path)),
    responses((status = 201, body = ApprovalLink), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    Authz(g): Authz<perm::TasksWrite>,
    path: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Created()
        .json(approval_links::create(&state.domain, &g, path.into_inner()).await?))
}

/// The decision page. Never decides: previewers fetch links too.
async fn page(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> HttpResponse {
    match approval_links::inspect(&state.domain, &token, request_meta(&req)).await {
        Ok(view) => html(
            StatusCode::OK,
            "Permission request",
            &decision_form(&view, &token),
        ),
        Err(err) => error_page(&err),
    }
}

/// The form's POST: uses the link (once) and shows the outcome.
async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let input = match parse_form(&body) {
        Ok(input) => input,
        Err(message) => {
            return html(
                StatusCode::BAD_REQUEST,
                "Choose an answer",
                &format!("<p>{}</p>", escape(message)),
            )
        }
    };
    match approval_links::decide(&state.domain, &token, input, request_meta(&req)).await {
        Ok(approval) => html(StatusCode::OK, "Decided", &outcome(&approval)),
        Err(err) => error_page(&err),
    }
}

fn parse_form(body: &[u8]) -> Result<Decide, &'static str> {
    let mut decision = None;
    let mut message = None;
    for (key, value) in url::form_urlencoded::parse(body) {
        match key.as_ref() {
            "decision" => {
                decision = Some(match value.as_ref() {
                    "allow" => Decision::Allow,
                    "always" => Decision::Always,
                    "deny" => Decision::Deny,
                    _ => return Err("Unknown answer; choose Yes, Always or No."),
                })
            }
            "message" if !value.trim().is_empty() => {
                if value.chars().count() > MAX_MESSAGE_CHARS {
                    return Err("The message is too long (at most 2000 characters).");
                }
                message = Some(value.trim().to_owned());
            }
            _ => {}
        }
    }
    let decision = decision.ok_or("Choose Yes, Always or No.")?;
    Ok(Decide {
        decision,
        // Only a denial carries a message back to Claude.
        message: message.filter(|_| decision == Decision::Deny),
        scope: None,
    })
}

fn decision_form(view: &LinkView, token: &str) -> String {
    let approval = &view.approval;
    let input = &approval.input;
    let mut highlights = String::new();
    for field in ["command", "file_path", "url", "pattern", "description"] {
        if let Some(value) = input.get(field).and_then(|v| v.as_str()) {
            highlights.push_str(&format!(
                "<p class=\"label\">{}</p><pre>{}</pre>",
                escape(field),
                escape(value)
            ));
        }
    }
    let full = serde_json::to_string_pretty(input).unwrap_or_else(|_| input.to_string());
    format!(
        r#"<p class="meta">Session <b>{session}</b> · asked {asked} UTC</p>
<h1>Claude wants to use <code>{tool}</code></h1>
{highlights}<p class="label">Full input</p><pre>{full}</pre>
<form method="post" action="/approve/{token}">
<label for="message">Message to Claude (optional, sent with No)</label>
<textarea id="message" name="message" maxlength="{max}" rows="3"></textarea>
<div class="buttons">
<button type="submit" name="decision" value="allow" class="yes">Yes</button>
<button type="submit" name="decision" value="always">Always (this session)</button>
<button type="submit" name="decision" value="deny" class="no">No</button>
</div>
</form>
<p class="meta">You answer as {email}. This link works once and expires at {link_expiry} UTC; the request itself at {request_expiry} UTC.</p>"#,
        session = escape(&view.session_name),
        asked = approval.created_at.format("%Y-%m-%d %H:%M:%S"),
        tool = escape(&approval.tool_name),
        full = escape(&full),
        token = escape(token),
        max = MAX_MESSAGE_CHARS,
        email = escape(&view.decider_email),
        link_expiry = view.link_expires_at.format("%H:%M:%S"),
        request_expiry = approval.expires_at.format("%H:%M:%S"),
    )
}

fn outcome(approval: &Approval) -> String {
    let what = match approval.decision.as_deref() {
        Some("always") => "Allowed; Claude will not ask again for calls like this in this session.",
        Some("deny") => "Denied.",
        _ => "Allowed.",
    };
    format!(
        "<h1>{}</h1><p>Claude receives the answer now. You can close this page.</p>{}",
        escape(what),
        approval
            .message
            .as_deref()
            .map(|m| format!("<p class=\"label\">Message</p><pre>{}</pre>", escape(m)))
            .unwrap_or_default()
    )
}

fn error_page(err: &LinkError) -> HttpResponse {
    if let LinkError::App(app) = err {
        // Server-side failures with their cause; the token is never part of an error.
        app.log();
    }
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let title = match err {
        LinkError::Malformed | LinkError::BadSignature => "Invalid link",
        LinkError::Expired { .. } => "Link expired",
        LinkError::Used { .. } => "Link already used",
        LinkError::App(_) => match status.as_u16() {
            409 => "Already decided",
            404 => "Request not found",
            403 => "Not allowed",
            400 => "Cannot do that",
            503 => "Try again shortly",
            _ => "Something went wrong",
        },
    };
    html(status, title, &format!("<p>{}</p>", escape(&err.message())))
}

/// The page shell: self-contained (no external assets, no script), readable on a phone.
fn html(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta name=\"robots\" content=\"noindex\"><title>{title} · Remote Claude</title>\
<style>{STYLE}</style></head><body><main>{heading}{body}</main></body></html>\n",
        title = escape(title),
        heading = if body.contains("<h1>") {
            String::new()
        } else {
            format!("<h1>{}</h1>", escape(title))
        },
    );
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("cache-control", "no-store"))
        .insert_header(("referrer-policy", "no-referrer"))
        .insert_header(("x-robots-tag", "noindex"))
        .insert_header(("content-security-policy", csp()))
        .body(page)
}

const STYLE: &str = "body{margin:0;font:16px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f6f6f4;color:#1d1d1b}\
main{max-width:40rem;margin:0 auto;padding:1.25rem}\
h1{font-size:1.3rem;margin:.5rem 0 1rem}\
code{font-size:1em}\
pre{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.75rem;white-space:pre-wrap;word-break:break-word;max-height:50vh;overflow:auto;font-size:.9rem}\
.label{margin:.75rem 0 .25rem;font-weight:600}\
.meta{color:#666;font-size:.9rem}\
label{display:block;margin:1rem 0 .25rem;font-weight:600}\
textarea{width:100%;box-sizing:border-box;font:inherit;padding:.5rem;border:1px solid #ccc;border-radius:6px}\
.buttons{display:flex;gap:.5rem;flex-wrap:wrap;margin-top:1rem}\
button{flex:1 1 8rem;font:inherit;font-weight:600;padding:.8rem;border:1px solid #bbb;border-radius:8px;background:#fff;color:#1d1d1b}\
button.yes{background:#1f7a3a;border-color:#1f7a3a;color:#fff}\
button.no{background:#a3261d;border-color:#a3261d;color:#fff}";

/// Allows exactly the page's own style block (by hash) and posts to its own origin.
fn csp() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        use base64::Engine;
        use sha2::Digest;
        let hash =
            base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(STYLE));
        format!(
            "default-src 'none'; style-src 'sha256-{hash}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        )
    })
}

/// HTML-escapes text for element content and quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<script>alert("x&'y")</script>"#),
            "&lt;script&gt;alert(&quot;x&amp;&#39;y&quot;)&lt;/script&gt;"
        );
    }

    #[test]
    fn parses_the_form() {
        let d = parse_form(b"decision=deny&message=not+now").unwrap();
        assert_eq!(d.decision, Decision::Deny);
        assert_eq!(d.message.as_deref(), Some("not now"));
        let a = parse_form(b"message=ignored&decision=allow").unwrap();
        assert_eq!((a.decision, a.message), (Decision::Allow, None));
        assert!(parse_form(b"decision=maybe").is_err());
        assert!(parse_form(b"").is_err());
    }
}
