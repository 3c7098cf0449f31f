//! Rights of long-lived connections.
//!
//! A WebSocket (the events feed, a terminal, GraphQL over WebSocket) is authorised when it
//! opens and may then stay open for hours. Access can end meanwhile: the member is removed or
//! demoted, the API token revoked or expired, the browser logged out, the session deleted.
//! [`LiveCaller`] keeps what the caller proved at upgrade time — the login session's id or the
//! token's hash, never the secret — so the connection can ask again:
//! - at once, when this api instance changes somebody's rights ([`RightsChanged`]: a role
//!   change, a removal, a token revocation, a logout, a deleted session), and
//! - every `auth.live_recheck_secs` for changes this instance did not make (another instance,
//!   an expiry, a change in the database).
//!
//! What a client *sends* over such a connection (an approval decision, a GraphQL operation)
//! is authorised afresh with [`LiveCaller::granted`], never with the rights the connection
//! opened with.

use super::extract::{bearer, token_actor, Caller};
use crate::state::AppState;
use actix_web::HttpRequest;
use rc_auth::{authorize, Granted, Permission, RequestMeta};
use rc_errors::{AppError, AppResult, ErrorCode};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use uuid::Uuid;

/// Consecutive checks that may fail for another reason than a denial (database or Redis
/// unreachable) before the connection is closed anyway: it was allowed recently, but it must
/// not stay open unchecked for long.
const UNCHECKED_LIMIT: u32 = 3;

/// Wakes every open connection of this instance to check its caller's rights again.
#[derive(Clone)]
pub struct RightsChanged(Arc<watch::Sender<u64>>);

impl Default for RightsChanged {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(0)))
    }
}

impl RightsChanged {
    pub fn notify(&self) {
        self.0
            .send_modify(|generation| *generation = generation.wrapping_add(1));
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }
}

/// The caller of a long-lived connection, able to prove again who they are.
#[derive(Clone)]
pub struct LiveCaller {
    state: AppState,
    proof: Proof,
    org: Option<Uuid>,
    meta: RequestMeta,
}

#[derive(Clone)]
enum Proof {
    /// The browser's login session id (the cookie's value).
    Login(String),
    /// SHA-256 of the API token.
    Token(Vec<u8>),
}

impl LiveCaller {
    /// What `caller` (authenticated from `req`) proved, for asking again later.
    pub fn new(
        req: &HttpRequest,
        state: &AppState,
        caller: &Caller,
        org: Option<Uuid>,
    ) -> AppResult<Self> {
        let proof = match caller {
            Caller::Browser { sid, .. } => Proof::Login(sid.clone()),
            Caller::Token(_) => {
                let token = bearer(req).ok_or_else(|| {
                    AppError::internal(anyhow::anyhow!("token caller without a bearer header"))
                })?;
                Proof::Token(rc_auth::secret::hash(token))
            }
        };
        Ok(Self {
            state: state.clone(),
            proof,
            org,
            meta: super::extract::request_meta(req),
        })
    }

    /// Who the caller is now: the login session still exists, or the token is still valid
    /// (the token cache's few seconds of staleness apply, as for any request).
    pub async fn caller(&self) -> AppResult<Caller> {
        match &self.proof {
            Proof::Login(sid) => {
                let session = self.state.logins.get(sid).await?.ok_or_else(|| {
                    AppError::unauthenticated("your login session has ended; sign in again")
                })?;
                Ok(Caller::Browser {
                    user_id: session.user_id,
                    sid: sid.clone(),
                    session,
                })
            }
            Proof::Token(hash) => Ok(Caller::Token(Box::new(
                token_actor(&self.state, hash, self.meta.clone()).await?,
            ))),
        }
    }

    /// The caller's permission `P` now, in the organisation the connection opened in.
    pub async fn granted<P: Permission>(&self) -> AppResult<Granted<P>> {
        let actor = self
            .caller()
            .await?
            .actor(&self.state, self.org, self.meta.clone())
            .await?;
        authorize::<P>(actor)
    }

    /// Resolves, with the reason, once the caller may no longer hold permission `P` or pass
    /// `check` (the resource's own test, e.g. "the session is still visible to them"). Checks
    /// whenever this instance changes rights and every `auth.live_recheck_secs`.
    pub async fn revoked<P, F, Fut>(&self, check: F) -> AppError
    where
        P: Permission,
        F: Fn(Granted<P>) -> Fut,
        Fut: Future<Output = AppResult<()>>,
    {
        let every = Duration::from_secs(self.state.settings().auth.live_recheck_secs.max(1));
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut changed = self.state.rights.subscribe();
        let mut failures = 0;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                // Cannot fail: `self.state` holds the sender.
                _ = changed.changed() => {}
            }
            let verdict = match self.granted::<P>().await {
                Ok(granted) => check(granted).await,
                Err(err) => Err(err),
            };
            match verdict {
                Ok(()) => failures = 0,
                Err(err) if is_denial(&err) => return err,
                Err(err) => {
                    err.log();
                    failures += 1;
                    if failures >= UNCHECKED_LIMIT {
                        return err;
                    }
                }
            }
        }
    }
}

/// An answer that means "no longer allowed", as opposed to "could not check right now".
pub fn is_denial(err: &AppError) -> bool {
    matches!(
        err.code,
        ErrorCode::Unauthenticated | ErrorCode::Forbidden | ErrorCode::NotFound
    )
}

/// The close code and reason for a connection whose check ended with `err`: 1008 (policy
/// violation) when access ended, 1013 (try again later) when it could not be checked.
pub fn close_reason(err: &AppError) -> actix_ws::CloseReason {
    let code = if is_denial(err) {
        actix_ws::CloseCode::Policy
    } else {
        actix_ws::CloseCode::Again
    };
    // A close frame's reason is at most 123 bytes.
    let mut description = err.message.clone();
    if description.len() > 123 {
        let mut end = 120;
        while !description.is_char_boundary(end) {
            end -= 1;
        }
        description.truncate(end);
        description.push('…');
    }
    actix_ws::CloseReason {
        code,
        description: Some(description),
    }
}
