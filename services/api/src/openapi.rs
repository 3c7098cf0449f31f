//! The OpenAPI document, generated from the handlers' annotations. Checked in at
//! `docs/api/openapi.json`; a test fails when it drifts.

use crate::routes;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Remote Claude API", version = "1", description = "Sessions running Claude Code in sandboxes, their tasks, organisations, members, tokens, audit log and usage. Authenticate with `Authorization: Bearer <API token>` or a browser session (cookie + `X-CSRF-Token` on mutations). Select the organisation with the `X-Org-Id` header or an `org_id` query parameter (browser sessions; tokens are bound to one). Errors: `{\"error\": {\"code\", \"message\", \"field\"?}}`."),
    paths(
        routes::auth::config, routes::auth::dev_login, routes::auth::oidc_login, routes::auth::oidc_callback, routes::auth::logout,
        routes::me::me,
        routes::orgs::list, routes::orgs::create, routes::orgs::current, routes::orgs::update,
        routes::members::list, routes::members::change_role, routes::members::remove,
        routes::members::list_invitations, routes::members::invite, routes::members::revoke_invitation, routes::members::accept,
        routes::tokens::list, routes::tokens::create, routes::tokens::revoke,
        routes::sessions::list, routes::sessions::create, routes::sessions::get, routes::sessions::stop, routes::sessions::start, routes::sessions::delete, routes::session_changes::changes,
        routes::sessions::update, routes::sessions::clear, routes::sessions::restart,
        routes::tasks::list, routes::tasks::create, routes::tasks::get, routes::tasks::cancel,
        routes::tasks::queue, routes::tasks::reorder,
        routes::events::history,
        routes::approvals::pending, routes::approvals::get, routes::approvals::decide, routes::approval_links::create,
        routes::audit::list, routes::audit::export,
        routes::usage::report, routes::usage::block,
        routes::files_doc::tree, routes::files_doc::stat, routes::files_doc::download, routes::files_doc::write,
        routes::files_doc::create, routes::files_doc::rename, routes::files_doc::delete, routes::files_doc::upload, routes::files_doc::zip,
        routes::files_doc::snapshots_create, routes::files_doc::snapshots_list, routes::files_doc::snapshots_restore,
        routes::files_doc::artifacts_create, routes::files_doc::artifacts_url,
        routes::terminal::terminal,
        routes::push::config, routes::push::list, routes::push::subscribe, routes::push::unsubscribe,
    ),
    // Referenced only from query parameters or WebSocket frames, so not discovered automatically.
    components(schemas(rc_domain::usage::UsageGroup, rc_domain::sessions::SessionState,
        routes::terminal::TerminalClientMessage, routes::terminal::TerminalServerMessage)),
    modifiers(&Security),
    security(("bearer" = []), ("cookie" = [])),
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::SESSION_COOKIE,
            ))),
        );
    }
}

/// The document as pretty JSON with a trailing newline (the checked-in form).
/// Built once: the document is served on every request to `/api/v1/openapi.json`.
pub fn document() -> String {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DOCUMENT
        .get_or_init(|| {
            let mut json = ApiDoc::openapi().to_pretty_json().unwrap_or_default();
            json.push('\n');
            json
        })
        .clone()
}
