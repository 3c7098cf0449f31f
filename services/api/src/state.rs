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
}

impl AppState {
    pub fn settings(&self) -> &rc_config::Settings {
        &self.domain.settings
    }
}
