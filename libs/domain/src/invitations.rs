//! Invitations: an admin invites an e-mail address with a role; the invitee opens the link
//! (secret shown once), logs in with that address and accepts.

use crate::audit::{self, Event};
use crate::validate;
use chrono::{DateTime, Duration, Utc};
use rc_auth::{perm, secret, Granted, RequestMeta, Role};
use rc_errors::{AppError, AppResult};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct Invitation {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub invited_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Returned once, at creation: the only time the secret link is visible.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct CreatedInvitation {
    pub invitation: Invitation,
    /// Secret to pass to the accept endpoint.
    pub token: String,
    /// Link for the invitee.
    pub url: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct CreateInvitation {
    pub email: String,
    pub role: Role,
}

pub async fn create(
    db: &PgPool,
    granted: &Granted<perm::MembersManage>,
    public_url: &str,
    ttl_secs: u64,
    input: CreateInvitation,
) -> AppResult<CreatedInvitation> {
    let email = validate::email("email", &input.email)?;
    if input.role == Role::Owner && granted.role != Role::Owner {
        return Err(AppError::forbidden("only owners can invite owners"));
    }
    let already = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 AND u.email = $2) AS "x!""#,
        granted.org_id,
        email
    )
    .fetch_one(db)
    .await?;
    if already {
        return Err(AppError::conflict(format!("{email} is already a member")).tap_field("email"));
    }
    let token = secret::generate(secret::INVITATION_KIND);
    let id = Uuid::now_v7();
    let expires_at = Utc::now()
        + Duration::seconds(
            i64::try_from(ttl_secs)
                .unwrap_or(i64::MAX / 2)
                .min(365 * 86_400),
        );
    let mut tx = db.begin().await?;
    let invitation = sqlx::query_as!(
        Invitation,
        r#"INSERT INTO invitations (id, org_id, email, role, token_hash, invited_by, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           RETURNING id, email, role AS "role: Role", invited_by, created_at, expires_at, accepted_at, revoked_at"#,
        id,
        granted.org_id,
        email,
        input.role as Role,
        token.hash,
        granted.user_id,
        expires_at
    )
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        granted,
        Event::new("invitation.create", "invitation", id)
            .details(serde_json::json!({ "email": email, "role": input.role.as_str() })),
    )
    .await?;
    tx.commit().await?;
    let url = format!(
        "{}/invitations/accept#{}",
        public_url.trim_end_matches('/'),
        token.value
    );
    Ok(CreatedInvitation {
        invitation,
        token: token.value,
        url,
    })
}

trait TapField {
    fn tap_field(self, field: &str) -> Self;
}

impl TapField for AppError {
    fn tap_field(mut self, field: &str) -> Self {
        self.field = Some(field.to_owned());
        self
    }
}

pub async fn list(
    db: &PgPool,
    granted: &Granted<perm::MembersManage>,
) -> AppResult<Vec<Invitation>> {
    Ok(sqlx::query_as!(
        Invitation,
        r#"SELECT id, email, role AS "role: Role", invited_by, created_at, expires_at, accepted_at, revoked_at
           FROM invitations WHERE org_id = $1 ORDER BY id DESC LIMIT 500"#,
        granted.org_id
    )
    .fetch_all(db)
    .await?)
}

pub async fn revoke(
    db: &PgPool,
    granted: &Granted<perm::MembersManage>,
    id: Uuid,
) -> AppResult<()> {
    let mut tx = db.begin().await?;
    let updated = sqlx::query!(
        "UPDATE invitations SET revoked_at = now() WHERE id = $1 AND org_id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
        id,
        granted.org_id
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(AppError::not_found("pending invitation"));
    }
    audit::record(
        &mut tx,
        granted,
        Event::new("invitation.revoke", "invitation", id),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The logged-in user accepts: the invitation must be pending, unexpired and addressed to
/// their e-mail. Returns the organisation joined.
pub async fn accept(
    db: &PgPool,
    user_id: Uuid,
    meta: &RequestMeta,
    token: &str,
) -> AppResult<Uuid> {
    let hash = secret::hash(token.trim());
    let mut tx = db.begin().await?;
    let row = sqlx::query!(
        r#"SELECT i.id, i.org_id, i.email, i.role AS "role: Role", i.expires_at, i.accepted_at, i.revoked_at
           FROM invitations i WHERE i.token_hash = $1 FOR UPDATE"#,
        hash
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::not_found("invitation"))?;
    if row.revoked_at.is_some() {
        return Err(AppError::conflict("this invitation was revoked"));
    }
    if row.accepted_at.is_some() {
        return Err(AppError::conflict("this invitation was already used"));
    }
    if row.expires_at <= Utc::now() {
        return Err(AppError::conflict(
            "this invitation has expired; ask for a new one",
        ));
    }
    let email = sqlx::query_scalar!("SELECT email FROM users WHERE id = $1", user_id)
        .fetch_one(&mut *tx)
        .await?;
    if email != row.email {
        return Err(AppError::forbidden(format!(
            "this invitation is for another e-mail address; you are signed in as {email}"
        )));
    }
    let inserted = sqlx::query!(
        "INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        row.org_id,
        user_id,
        row.role as Role
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(AppError::conflict(
            "you are already a member of this organization",
        ));
    }
    sqlx::query!(
        "UPDATE invitations SET accepted_at = now(), accepted_by = $2 WHERE id = $1",
        row.id,
        user_id
    )
    .execute(&mut *tx)
    .await?;
    audit::insert(
        &mut tx,
        Some(row.org_id),
        Some(user_id),
        &email,
        meta,
        Event::new("invitation.accept", "invitation", row.id)
            .details(serde_json::json!({ "role": row.role.as_str() })),
    )
    .await?;
    tx.commit().await?;
    Ok(row.org_id)
}
