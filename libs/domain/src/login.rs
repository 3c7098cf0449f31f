//! Users and login: turning a verified identity into a user (creating it on first login), and
//! a user plus an organisation choice into an [`Actor`].

use crate::audit::{self, Event};
use crate::orgs;
use chrono::{DateTime, Utc};
use rc_auth::{Actor, Credential, RequestMeta, Role};
use rc_config::AuthSettings;
use rc_errors::{AppError, AppResult, ErrorCode};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject, sqlx::FromRow)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

/// What an identity provider (or the dev login) vouches for.
#[derive(Debug, Clone)]
pub struct Identity {
    /// OIDC issuer and subject; `None` for the dev login.
    pub issuer: Option<String>,
    pub subject: Option<String>,
    pub email: String,
    pub email_verified: bool,
    pub display_name: String,
}

/// Login policy: verified e-mail, optional allow-lists.
pub fn check_allowed(settings: &AuthSettings, identity: &Identity) -> AppResult<String> {
    let email = identity.email.trim().to_lowercase();
    if email.is_empty() {
        return Err(AppError::new(
            ErrorCode::LoginFailed,
            "the identity provider did not return an e-mail address",
        ));
    }
    if !identity.email_verified {
        return Err(AppError::new(
            ErrorCode::LoginFailed,
            "your e-mail address is not verified at the identity provider",
        ));
    }
    let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    let allowed_by_email = settings
        .allowed_emails
        .iter()
        .any(|e| e.eq_ignore_ascii_case(&email));
    let allowed_by_domain = settings
        .allowed_domains
        .iter()
        .any(|d| d.eq_ignore_ascii_case(domain));
    let restricted = !settings.allowed_emails.is_empty() || !settings.allowed_domains.is_empty();
    if restricted && !allowed_by_email && !allowed_by_domain {
        return Err(AppError::new(
            ErrorCode::LoginFailed,
            format!("{email} is not allowed to sign in to this installation"),
        ));
    }
    Ok(email)
}

/// Finds or creates the user for a verified identity and records the login. The very first
/// user of a fresh installation becomes owner of a new default organisation.
pub async fn login(
    db: &PgPool,
    settings: &AuthSettings,
    identity: Identity,
    meta: &RequestMeta,
) -> AppResult<User> {
    let email = check_allowed(settings, &identity)?;
    let mut tx = db.begin().await?;

    let existing = sqlx::query!(
        r#"SELECT id, oidc_issuer, oidc_subject FROM users
           WHERE (oidc_issuer = $1 AND oidc_subject = $2) OR email = $3
           ORDER BY (oidc_issuer = $1 AND oidc_subject = $2) DESC NULLS LAST LIMIT 1"#,
        identity.issuer,
        identity.subject,
        email
    )
    .fetch_optional(&mut *tx)
    .await?;

    let user_id = match existing {
        Some(user) => {
            // Matched by e-mail, but the account is bound to another subject of the same
            // identity provider: the address was reassigned there. Linking would hand the old
            // account to a new person.
            let same_issuer = user.oidc_issuer.is_some() && user.oidc_issuer == identity.issuer;
            if same_issuer && user.oidc_subject != identity.subject {
                return Err(AppError::new(
                    ErrorCode::LoginFailed,
                    format!("{email} belongs to a different account at the identity provider; ask an administrator"),
                ));
            }
            sqlx::query!(
                r#"UPDATE users SET last_login_at = now(), email = $2, email_verified = true,
                     display_name = CASE WHEN $3 = '' THEN display_name ELSE $3 END,
                     oidc_issuer = COALESCE($4, oidc_issuer), oidc_subject = COALESCE($5, oidc_subject)
                   WHERE id = $1"#,
                user.id,
                email,
                identity.display_name,
                identity.issuer,
                identity.subject
            )
            .execute(&mut *tx)
            .await?;
            user.id
        }
        None => {
            // Serialises first-login bootstrap so two simultaneous first logins cannot both
            // become owner of two default organisations. Only new users pay for it.
            sqlx::query!("SELECT pg_advisory_xact_lock(4242)")
                .execute(&mut *tx)
                .await?;
            let id = Uuid::now_v7();
            let first_user =
                sqlx::query_scalar!(r#"SELECT NOT EXISTS (SELECT 1 FROM users) AS "first!""#)
                    .fetch_one(&mut *tx)
                    .await?;
            sqlx::query!(
                r#"INSERT INTO users (id, email, email_verified, display_name, oidc_issuer, oidc_subject, last_login_at)
                   VALUES ($1, $2, true, $3, $4, $5, now())"#,
                id,
                email,
                identity.display_name,
                identity.issuer,
                identity.subject
            )
            .execute(&mut *tx)
            .await?;
            if first_user {
                let org = orgs::create_in(&mut tx, id, &settings.default_org_name).await?;
                tracing::info!(user = %id, org = %org, "first user: created the default organisation");
            }
            id
        }
    };

    let org_id = sqlx::query_scalar!(
        "SELECT org_id FROM memberships WHERE user_id = $1 ORDER BY created_at LIMIT 1",
        user_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    audit::insert(
        &mut tx,
        org_id,
        Some(user_id),
        &email,
        meta,
        Event::new("auth.login", "user", user_id).details(serde_json::json!({
            "method": if identity.issuer.is_some() { "oidc" } else { "dev" }
        })),
    )
    .await?;
    tx.commit().await?;
    get_user(db, user_id).await
}

pub async fn record_logout(db: &PgPool, user_id: Uuid, meta: &RequestMeta) -> AppResult<()> {
    let user = get_user(db, user_id).await?;
    let org_id = sqlx::query_scalar!(
        "SELECT org_id FROM memberships WHERE user_id = $1 ORDER BY created_at LIMIT 1",
        user_id
    )
    .fetch_optional(db)
    .await?;
    let mut conn = db.acquire().await?;
    audit::insert(
        &mut conn,
        org_id,
        Some(user_id),
        &user.email,
        meta,
        Event::new("auth.logout", "user", user_id),
    )
    .await
}

pub async fn get_user(db: &PgPool, user_id: Uuid) -> AppResult<User> {
    sqlx::query_as!(
        User,
        "SELECT id, email, display_name, created_at, last_login_at FROM users WHERE id = $1",
        user_id
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| AppError::unauthenticated("your account no longer exists"))
}

/// The caller acting in an organisation: the requested one (must be a member: otherwise
/// "not found"), or their oldest membership.
pub async fn resolve_actor(
    db: &PgPool,
    user_id: Uuid,
    requested_org: Option<Uuid>,
    credential: Credential,
    meta: RequestMeta,
) -> AppResult<Actor> {
    let row = sqlx::query!(
        r#"SELECT u.email, m.org_id, m.role AS "role: Role"
           FROM users u JOIN memberships m ON m.user_id = u.id
           WHERE u.id = $1 AND ($2::uuid IS NULL OR m.org_id = $2)
           ORDER BY m.created_at LIMIT 1"#,
        user_id,
        requested_org
    )
    .fetch_optional(db)
    .await?;
    match row {
        Some(r) => Ok(Actor {
            user_id,
            email: r.email,
            org_id: r.org_id,
            role: r.role,
            credential,
            meta,
        }),
        None if requested_org.is_some() => Err(AppError::not_found("organization")),
        None => Err(AppError::forbidden(
            "you are not a member of any organization yet; ask an admin for an invitation",
        )),
    }
}
