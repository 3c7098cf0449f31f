//! Rights of long-lived connections.
//!
//! A WebSocket (the events feed, a terminal, GraphQL over WebSocket) is authorised when it
//! opens and may then stay open for hours. Access can end meanwhile: the member is removed or
//! demoted, the API token revoked or expired, the browser logged out, the session deleted.
//! [`LiveCaller`] keeps what the caller proved at upgrade time — the login session's hashed
//! id or the token's hash, never the cookie or the secret — so the connection can ask again:
//! - at once, when this api instance changes the rights of the connection's user or deletes
//!   its session ([`RightsChanged`] carries *whose* rights changed, so one user's logout does
//!   not make every open socket query the database), and
//! - every `auth.live_recheck_secs` for changes this instance did not make (another instance,
//!   an expiry, a change in the database).
//!
//! What a client *sends* over such a connection (an approval decision, a GraphQL operation)
//! is authorised afresh with [`LiveCaller::granted`], never with the rights the connection
//! opened with.

use super::extract::{bearer, token_actor, Caller};
use super::store::LoginRef;
use crate::state::AppState;
use actix_web::HttpRequest;
use rc_auth::{authorize, Granted, Permission, RequestMeta};
use rc_errors::{AppError, AppResult, ErrorCode};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{broadcast, oneshot};
use tokio::time::Instant;
use uuid::Uuid;

/// A connection whose checks keep failing for another reason than a denial (database or
/// Redis unreachable) is closed once its last successful check is this many intervals old:
/// it was allowed recently, but it must not stay open unchecked for long.
const UNCHECKED_INTERVALS: u32 = 2;

/// Changes queued per receiver before it lags (a lagging receiver just checks again).
const CHANGES_CAPACITY: usize = 256;

/// Whose rights this instance just changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A user's role, membership, tokens or login session.
    User(Uuid),
    /// A session was deleted.
    Session(Uuid),
    /// Unknown whose (changes were missed): every connection checks again.
    Everyone,
}

/// Tells the open connections of this instance whose rights changed.
#[derive(Clone)]
pub struct RightsChanged(broadcast::Sender<Change>);

impl Default for RightsChanged {
    fn default() -> Self {
        Self(broadcast::channel(CHANGES_CAPACITY).0)
    }
}

impl RightsChanged {
    pub fn notify(&self, change: Change) {
        // No receiver (no open connection) is fine.
        let _ = self.0.send(change);
    }

    /// Subscribe *before* authorising: a change made between the authorisation and the
    /// connection's first wait must not be missed.
    pub fn subscribe(&self) -> Changes {
        Changes(self.0.subscribe())
    }
}

/// The changes one connection listens to (see [`RightsChanged::subscribe`]).
pub struct Changes(broadcast::Receiver<Change>);

impl Changes {
    /// Waits for a change that may concern `user` or `session`.
    async fn concerning(&mut self, user: Uuid, session: Option<Uuid>) {
        loop {
            match self.0.recv().await {
                Ok(Change::User(id)) if id == user => return,
                Ok(Change::Session(id)) if Some(id) == session => return,
                Ok(Change::Everyone) => return,
                Ok(_) => continue,
                // Missed some: any of them may have been ours.
                Err(broadcast::error::RecvError::Lagged(_)) => return,
                // Cannot happen while the state (which holds the sender) lives; never wake.
                Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
            }
        }
    }
}

/// The caller of a long-lived connection, able to prove again who they are.
#[derive(Clone)]
pub struct LiveCaller {
    state: AppState,
    proof: Proof,
    user_id: Uuid,
    org: Option<Uuid>,
    meta: RequestMeta,
}

#[derive(Clone)]
enum Proof {
    Login(LoginRef),
    /// SHA-256 of the API token.
    Token(Vec<u8>),
}

/// Whether a check may use the token cache (periodic checks) or must ask the database (a
/// change was announced: a request racing the revocation may just have cached the token).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Freshness {
    Cached,
    Fresh,
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
            Caller::Browser { login, .. } => Proof::Login(login.clone()),
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
            user_id: caller.user_id(),
            org,
            meta: super::extract::request_meta(req),
        })
    }

    /// Who the caller is now: the login session still exists, or the token is still valid
    /// (the token cache's few seconds of staleness apply, as for any request).
    pub async fn caller(&self) -> AppResult<Caller> {
        self.caller_as(Freshness::Cached).await
    }

    async fn caller_as(&self, freshness: Freshness) -> AppResult<Caller> {
        match &self.proof {
            Proof::Login(login) => {
                let session = self.state.logins.lookup(login).await?.ok_or_else(|| {
                    AppError::unauthenticated("your login session has ended; sign in again")
                })?;
                Ok(Caller::Browser {
                    user_id: session.user_id,
                    login: login.clone(),
                    session,
                })
            }
            Proof::Token(hash) => {
                let actor = match freshness {
                    Freshness::Cached => token_actor(&self.state, hash, self.meta.clone()).await?,
                    Freshness::Fresh => {
                        rc_domain::tokens::authenticate_hash(
                            &self.state.domain.db,
                            hash,
                            self.meta.clone(),
                        )
                        .await?
                    }
                };
                Ok(Caller::Token(Box::new(actor)))
            }
        }
    }

    /// The caller's permission `P` now, in the organisation the connection opened in.
    pub async fn granted<P: Permission>(&self) -> AppResult<Granted<P>> {
        self.granted_as(Freshness::Cached).await
    }

    async fn granted_as<P: Permission>(&self, freshness: Freshness) -> AppResult<Granted<P>> {
        let actor = self
            .caller_as(freshness)
            .await?
            .actor(&self.state, self.org, self.meta.clone())
            .await?;
        authorize::<P>(actor)
    }

    /// Resolves, with the reason, once the caller may no longer hold permission `P` (on
    /// `session`, when the connection serves one) or pass `check` (the resource's own rule,
    /// e.g. "the session is still visible to them"). `changes` must have been subscribed
    /// before the connection was authorised.
    pub async fn revoked<P, F, Fut>(
        &self,
        mut changes: Changes,
        session: Option<Uuid>,
        check: F,
    ) -> AppError
    where
        P: Permission,
        F: Fn(Granted<P>) -> Fut,
        Fut: Future<Output = AppResult<()>>,
    {
        let every = Duration::from_secs(self.state.settings().auth.live_recheck_secs.max(1));
        let mut tick = tokio::time::interval_at(Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut checked = Instant::now();
        loop {
            let freshness = tokio::select! {
                _ = tick.tick() => Freshness::Cached,
                () = changes.concerning(self.user_id, session) => Freshness::Fresh,
            };
            let verdict = match self.granted_as::<P>(freshness).await {
                Ok(granted) => check(granted).await,
                Err(err) => Err(err),
            };
            match verdict {
                Ok(()) => checked = Instant::now(),
                Err(err) if is_denial(&err) => return err,
                Err(err) if checked.elapsed() >= every * UNCHECKED_INTERVALS => return err,
                Err(err) => {
                    tracing::debug!(error = %err.message, "could not check a connection's rights; retrying");
                }
            }
        }
    }
}

/// [`LiveCaller::revoked`] running as a task of its own, so that a connection busy sending
/// frames does not poll it — and the rights channel every connection shares — once per
/// frame (measured: 20 followers of a 2,000-event burst got slower). Stopped when dropped.
pub struct Revocation {
    verdict: oneshot::Receiver<AppError>,
    task: tokio::task::JoinHandle<()>,
}

impl Revocation {
    /// Spawns `revoked` on the current thread's task set (an actix worker's).
    pub fn spawn(revoked: impl Future<Output = AppError> + 'static) -> Self {
        let (tx, verdict) = oneshot::channel();
        let task = tokio::task::spawn_local(async move {
            let _ = tx.send(revoked.await);
        });
        Self { verdict, task }
    }
}

impl Future for Revocation {
    type Output = AppError;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<AppError> {
        Pin::new(&mut self.verdict).poll(cx).map(|verdict| {
            verdict.unwrap_or_else(|_| {
                AppError::internal(anyhow::anyhow!("the connection's rights check stopped"))
            })
        })
    }
}

impl Drop for Revocation {
    fn drop(&mut self) {
        self.task.abort();
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
    actix_ws::CloseReason {
        code,
        description: Some(close_description(&err.message)),
    }
}

/// A close frame's reason is at most 123 bytes: longer messages are cut at a character
/// boundary and end with an ellipsis.
fn close_description(message: &str) -> String {
    const MAX: usize = 123;
    if message.len() <= MAX {
        return message.to_owned();
    }
    let mut end = MAX - '…'.len_utf8();
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &message[..end])
}

#[cfg(test)]
mod tests {
    use super::close_description;

    #[test]
    fn close_reasons_fit_a_close_frame_and_stay_valid_utf8() {
        assert_eq!(close_description("not found"), "not found");
        let exact = "a".repeat(123);
        assert_eq!(close_description(&exact), exact);
        // Multi-byte characters straddling the cut are not split.
        for pad in 0..4 {
            let long = format!("{}{}", "a".repeat(pad), "é€😀".repeat(40));
            let cut = close_description(&long);
            assert!(cut.len() <= 123, "{} bytes", cut.len());
            assert!(cut.ends_with('…'));
            assert!(long.starts_with(cut.trim_end_matches('…')));
        }
    }
}
