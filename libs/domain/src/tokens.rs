//! API tokens: bearer secrets bound to one user in one organisation, narrowed by scopes.

use crate::audit::{self, Event};
use crate::validate;
use chrono::{DateTime, Duration, Utc};
use rc_auth::{perm, secret, Actor, Credential, Granted, RequestMeta, Role, Scope};
use rc_errors::{AppError, AppResult};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct ApiToken {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    /// First characters of the secret, to recognise it.
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct CreatedToken {
    pub token: ApiToken,
    /// The secret. Shown only in this response; store it now.
    pub secret: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    pub name: String,
    pub scopes: Vec<Scope>,
    /// Days until expiry, 1-365; absent = 90.
    pub expires_in_days: Option<i32>,
}

struct TokenRow {
    id: Uuid,
    user_id: Uuid,
    name: String,
    prefix: String,
    scopes: Vec<String>,
    expires_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<TokenRow> for ApiToken {
    fn from(r: TokenRow) -> Self {
        Self {
            id: r.id,
            user_id: r.user_id,
            name: r.name,
            prefix: r.prefix,
            scopes: r.scopes.iter().filter_map(|s| Scope::parse(s)).collect(),
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
        }
    }
}

pub async fn create(
    db: &PgPool,
    granted: &Granted<perm::TokensManage>,
    input: CreateToken,
) -> AppResult<CreatedToken> {
    let name = validate::name("name", &input.name)?;
    if input.scopes.is_empty() {
        return Err(AppError::validation(
            "scopes",
            "must contain at least one of read, write, admin",
        ));
    }
    let grantable = granted.role.grantable_scopes();
    if let Some(s) = input.scopes.iter().find(|s| !grantable.contains(s)) {
        return Err(AppError::validation(
            "scopes",
            format!(
                "your role ({}) cannot grant the '{}' scope",
                granted.role.as_str(),
                s.as_str()
            ),
        ));
    }
    let days = input.expires_in_days.unwrap_or(90);
    validate::in_range("expires_in_days", days.into(), 1, 365)?;
    let mut scopes: Vec<String> = input.scopes.iter().map(|s| s.as_str().to_owned()).collect();
    scopes.sort();
    scopes.dedup();
    let secret = secret::generate(secret::API_TOKEN_KIND);
    let id = Uuid::now_v7();
    let mut tx = db.begin().await?;
    let row = sqlx::query_as!(
        TokenRow,
        r#"INSERT INTO api_tokens (id, org_id, user_id, name, prefix, token_hash, scopes, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           RETURNING id, user_id, name, prefix, scopes, expires_at, last_used_at, created_at, revoked_at"#,
        id,
        granted.org_id,
        granted.user_id,
        name,
        secret.prefix,
        secret.hash,
        &scopes,
        Utc::now() + Duration::days(days.into())
    )
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        granted,
        Event::new("token.create", "api_token", id).details(
            serde_json::json!({ "name": name, "scopes": scopes, "prefix": secret.prefix }),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedToken {
        token: row.into(),
        secret: secret.value,
    })
}

/// The caller's own tokens in this organisation (admins included: tokens are personal).
pub async fn list(db: &PgPool, granted: &Granted<perm::TokensManage>) -> AppResult<Vec<ApiToken>> {
    let rows = sqlx::query_as!(
        TokenRow,
        r#"SELECT id, user_id, name, prefix, scopes, expires_at, last_used_at, created_at, revoked_at
           FROM api_tokens WHERE org_id = $1 AND user_id = $2 ORDER BY id DESC"#,
        granted.org_id,
        granted.user_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Revokes one of the caller's tokens; owners and admins may revoke anyone's in the
/// organisation (e.g. a leaked token of a colleague). Returns the token's user.
pub async fn revoke(
    db: &PgPool,
    granted: &Granted<perm::TokensManage>,
    id: Uuid,
) -> AppResult<Uuid> {
    let admin = matches!(granted.role, Role::Owner | Role::Admin);
    let mut tx = db.begin().await?;
    let user_id = sqlx::query_scalar!(
        "UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND org_id = $2 AND ($3 OR user_id = $4) AND revoked_at IS NULL RETURNING user_id",
        id,
        granted.org_id,
        admin,
        granted.user_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::not_found("active API token"))?;
    audit::record(
        &mut tx,
        granted,
        Event::new("token.revoke", "api_token", id),
    )
    .await?;
    tx.commit().await?;
    Ok(user_id)
}

/// Resolves a bearer secret to an actor. Unknown, revoked and expired tokens all answer the
/// same 401, so probing learns nothing.
pub async fn authenticate(db: &PgPool, secret_value: &str, meta: RequestMeta) -> AppResult<Actor> {
    well_formed(secret_value)?;
    authenticate_hash(db, &secret::hash(secret_value), meta).await
}

/// Refuses what cannot be one of our tokens without a database round trip (the same 401 as
/// an unknown token).
pub fn well_formed(secret_value: &str) -> AppResult<()> {
    if !secret_value.starts_with(secret::API_TOKEN_KIND) || secret_value.len() > 200 {
        return Err(invalid_token());
    }
    Ok(())
}

fn invalid_token() -> AppError {
    AppError::unauthenticated("invalid, expired or revoked API token")
}

/// [`authenticate`] by the secret's hash: how a long-lived connection, which keeps only the
/// hash, checks that its token is still valid.
pub async fn authenticate_hash(db: &PgPool, hash: &[u8], meta: RequestMeta) -> AppResult<Actor> {
    let row = sqlx::query!(
        r#"SELECT t.id, t.prefix, t.scopes, t.user_id, t.org_id, u.email, m.role AS "role: Role",
                  (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute') AS "stale!"
           FROM api_tokens t
           JOIN users u ON u.id = t.user_id
           JOIN memberships m ON m.org_id = t.org_id AND m.user_id = t.user_id
           WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())"#,
        hash
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(invalid_token)?;
    if row.stale {
        // At most one write per token per minute, so busy API clients don't turn every read
        // into a write.
        sqlx::query!(
            "UPDATE api_tokens SET last_used_at = now() WHERE id = $1",
            row.id
        )
        .execute(db)
        .await?;
    }
    Ok(Actor {
        user_id: row.user_id,
        email: row.email,
        org_id: row.org_id,
        role: row.role,
        credential: Credential::ApiToken {
            id: row.id,
            prefix: row.prefix,
            scopes: row.scopes.iter().filter_map(|s| Scope::parse(s)).collect(),
        },
        meta,
    })
}
