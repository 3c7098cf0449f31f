//! OpenID Connect login: authorization code flow with PKCE, state and nonce, e-mail verified
//! at the provider. Discovery happens on first use (and is retried after failures), so the api
//! starts while the identity provider is down and says so clearly at login time.

use super::store::PendingLogin;
use crate::state::AppState;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse,
};
use rc_config::OidcSettings;
use rc_errors::{AppError, AppResult, ErrorCode};
use tokio::sync::RwLock;

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

pub struct Oidc {
    settings: OidcSettings,
    redirect_url: String,
    http: reqwest::Client,
    client: RwLock<Option<Client>>,
}

fn idp_unavailable(err: impl std::fmt::Display) -> AppError {
    AppError::new(
        ErrorCode::ServiceUnavailable,
        "the identity provider is unreachable; try again shortly",
    )
    .with_source(anyhow::anyhow!("{err}"))
}

fn login_failed(msg: impl Into<String>) -> AppError {
    AppError::new(ErrorCode::LoginFailed, msg)
}

impl Oidc {
    pub fn new(settings: OidcSettings, public_url: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            // Following redirects from the token endpoint would allow SSRF.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        Ok(Self {
            settings,
            redirect_url: format!(
                "{}/api/v1/auth/oidc/callback",
                public_url.trim_end_matches('/')
            ),
            http,
            client: RwLock::new(None),
        })
    }

    pub fn redirect_url(&self) -> &str {
        &self.redirect_url
    }

    async fn client(&self) -> AppResult<Client> {
        if let Some(client) = self.client.read().await.as_ref() {
            return Ok(client.clone());
        }
        let issuer =
            IssuerUrl::new(self.settings.issuer_url.clone()).map_err(AppError::internal)?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(idp_unavailable)?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            self.settings
                .client_secret
                .as_ref()
                .map(|s| ClientSecret::new(s.expose().to_owned())),
        )
        .set_redirect_uri(RedirectUrl::new(self.redirect_url.clone()).map_err(AppError::internal)?);
        *self.client.write().await = Some(client.clone());
        Ok(client)
    }

    /// Builds the provider URL to send the browser to, remembering PKCE verifier, nonce and
    /// where to return under the random `state`.
    /// Returns the provider URL and the `state` value, which the caller binds to the browser.
    pub async fn start(&self, state: &AppState, return_to: &str) -> AppResult<(String, String)> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in self.settings.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, csrf, nonce) = request.url();
        let pending = PendingLogin {
            pkce_verifier: verifier.secret().clone(),
            nonce: nonce.secret().clone(),
            return_to: return_to.to_owned(),
        };
        state.logins.put_pending(csrf.secret(), &pending).await?;
        Ok((url.to_string(), csrf.secret().clone()))
    }

    /// Completes the login: checks `state` (single use), exchanges the code with the PKCE
    /// verifier, verifies the ID token (signature, issuer, audience, expiry, nonce), and reads
    /// e-mail and its verification from the ID token or userinfo.
    pub async fn finish(
        &self,
        state: &AppState,
        code: &str,
        csrf_state: &str,
    ) -> AppResult<(rc_domain::login::Identity, String)> {
        let pending = state
            .logins
            .take_pending(csrf_state)
            .await?
            .ok_or_else(|| {
                login_failed("the login attempt expired or was already used; start again")
            })?;
        let client = self.client().await?;
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(AppError::internal)?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| login_failed(format!("the identity provider rejected the login: {e}")))?;
        let id_token = token
            .id_token()
            .ok_or_else(|| login_failed("the identity provider returned no ID token"))?;
        let claims = id_token
            .claims(
                &client.id_token_verifier(),
                &Nonce::new(pending.nonce.clone()),
            )
            .map_err(|e| login_failed(format!("the ID token is invalid: {e}")))?;

        let mut email = claims.email().map(|e| e.as_str().to_owned());
        let mut verified = claims.email_verified();
        let mut name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned());
        if email.is_none() || verified.is_none() {
            // With the code flow, providers put profile claims in userinfo rather than in the
            // ID token.
            let info: CoreUserInfoClaims = client
                .user_info(token.access_token().clone(), Some(claims.subject().clone()))
                .map_err(AppError::internal)?
                .request_async(&self.http)
                .await
                .map_err(idp_unavailable)?;
            email = email.or_else(|| info.email().map(|e| e.as_str().to_owned()));
            verified = verified.or(info.email_verified());
            name = name.or_else(|| {
                info.name()
                    .and_then(|n| n.get(None))
                    .map(|n| n.as_str().to_owned())
            });
        }
        let identity = rc_domain::login::Identity {
            issuer: Some(claims.issuer().as_str().to_owned()),
            subject: Some(claims.subject().as_str().to_owned()),
            email: email.unwrap_or_default(),
            email_verified: verified.unwrap_or(false),
            display_name: name.unwrap_or_default(),
        };
        Ok((identity, pending.return_to))
    }
}

/// Only same-origin relative paths are accepted as post-login destinations (open redirects).
/// Browsers drop tabs and newlines from `Location` and treat `\` like `/`, so any control
/// character, whitespace or backslash disqualifies a candidate before the `//` check.
pub fn safe_return_path(candidate: Option<&str>) -> String {
    match candidate {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && p.len() < 2000
                && !p
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace() || c == '\\') =>
        {
            p.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_return_path;

    #[test]
    fn return_paths_stay_on_this_site() {
        assert_eq!(safe_return_path(Some("/sessions/1?x=2")), "/sessions/1?x=2");
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/\\evil.example",
            "https://evil.example",
            "/a\nb",
            "/ /x",
            "",
            "x",
        ] {
            assert_eq!(safe_return_path(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_return_path(None), "/");
    }
}
