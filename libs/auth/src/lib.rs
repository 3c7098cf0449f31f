//! Role-based access control.
//!
//! A request is allowed to run domain code only with a [`Granted<P>`] for the permission `P`
//! that the code needs. `Granted` can only be built by [`authorize`], which checks the caller's
//! role in the organisation and (for API tokens) the token's scopes. Domain functions take
//! `&Granted<P>` as an argument, so the permission a REST handler or GraphQL resolver needs is
//! written in its signature and checked by the compiler.
//!
//! Resource-level rules (a member acts only on their own sessions) live with the resource, via
//! [`Actor::can_act_on`] and [`Actor::sees_all_sessions`].

pub mod perm;
mod role;
pub mod secret;

pub use perm::{Action, Permission};
pub use role::{Role, Scope};

use rc_errors::{AppError, AppResult};
use std::marker::PhantomData;
use uuid::Uuid;

/// How the caller authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// Browser login session (cookie); mutations additionally passed the CSRF check.
    LoginSession,
    /// API token with its id and scopes.
    ApiToken {
        id: Uuid,
        prefix: String,
        scopes: Vec<Scope>,
    },
}

/// Where a request came from, for the audit log.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

/// An authenticated caller acting inside one organisation.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Uuid,
    pub email: String,
    pub org_id: Uuid,
    pub role: Role,
    pub credential: Credential,
    pub meta: RequestMeta,
}

impl Actor {
    /// Admins, owners and (read-only) viewers see every session of the organisation; members
    /// see their own.
    pub fn sees_all_sessions(&self) -> bool {
        matches!(self.role, Role::Owner | Role::Admin | Role::Viewer)
    }

    /// Whether the caller may change a resource owned by `owner_id` (sessions, tasks).
    pub fn can_act_on(&self, owner_id: Uuid) -> bool {
        match self.role {
            Role::Owner | Role::Admin => true,
            Role::Member => owner_id == self.user_id,
            Role::Viewer => false,
        }
    }

    /// Label for the audit log: the e-mail, plus the token prefix when a token was used.
    pub fn label(&self) -> String {
        match &self.credential {
            Credential::LoginSession => self.email.clone(),
            Credential::ApiToken { prefix, .. } => format!("{} (token {prefix}…)", self.email),
        }
    }

    fn scopes_allow(&self, action: Action) -> bool {
        match &self.credential {
            Credential::LoginSession => true,
            Credential::ApiToken { scopes, .. } => scopes.contains(&action.required_scope()),
        }
    }
}

/// Proof that `actor` holds permission `P`. Constructed only by [`authorize`].
#[derive(Debug, Clone)]
pub struct Granted<P: Permission> {
    actor: Actor,
    _permission: PhantomData<fn() -> P>,
}

impl<P: Permission> Granted<P> {
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Narrows or widens to another permission, re-checking it.
    pub fn also<Q: Permission>(&self) -> AppResult<Granted<Q>> {
        authorize::<Q>(self.actor.clone())
    }
}

impl<P: Permission> std::ops::Deref for Granted<P> {
    type Target = Actor;
    fn deref(&self) -> &Actor {
        &self.actor
    }
}

/// Checks role and token scope for `P`. A refusal is 403: the caller is a member of the
/// organisation, so existence of the organisation is not a secret to them.
pub fn authorize<P: Permission>(actor: Actor) -> AppResult<Granted<P>> {
    let action = P::ACTION;
    if !actor.role.allows(action) {
        return Err(AppError::forbidden(format!(
            "your role ({}) does not allow {}",
            actor.role.as_str(),
            action.describe()
        )));
    }
    if !actor.scopes_allow(action) {
        return Err(AppError::forbidden(format!(
            "this API token lacks the '{}' scope needed to {}",
            action.required_scope().as_str(),
            action.describe()
        )));
    }
    Ok(Granted {
        actor,
        _permission: PhantomData,
    })
}

#[cfg(test)]
mod tests;
