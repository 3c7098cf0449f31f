use crate::auth::oidc::Oidc;
use crate::auth::store::LoginStore;
use rc_domain::Domain;
use std::sync::Arc;

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub domain: Domain,
    pub logins: LoginStore,
    pub oidc: Option<Arc<Oidc>>,
}

impl AppState {
    pub fn settings(&self) -> &rc_config::Settings {
        &self.domain.settings
    }
}
