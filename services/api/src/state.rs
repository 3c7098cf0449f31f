use crate::auth::live::{Change, RightsChanged};
use crate::auth::oidc::Oidc;
use crate::auth::store::LoginStore;
use crate::auth::token_cache::TokenCache;
use rc_domain::Domain;
use std::sync::Arc;

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub domain: Domain,
    pub logins: LoginStore,
    pub oidc: Option<Arc<Oidc>>,
    pub tokens: TokenCache,
    /// Open WebSockets listen here to check their caller's rights again.
    pub rights: RightsChanged,
}

impl AppState {
    pub fn settings(&self) -> &rc_config::Settings {
        &self.domain.settings
    }

    /// After this instance changed somebody's rights (role, membership, token, login
    /// session) or deleted a session: cached token lookups are dropped and the open
    /// connections concerned check their caller again.
    pub fn rights_changed(&self, change: Change) {
        if let Change::User(_) | Change::Everyone = change {
            self.tokens.forget_all();
        }
        self.rights.notify(change);
    }
}
