//! Members of an organisation and their roles.

use crate::audit::{self, Event};
use chrono::{DateTime, Utc};
use rc_auth::{perm, Actor, Granted, Role};
use rc_errors::{AppError, AppResult};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct Member {
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct ChangeRole {
    pub role: Role,
}

pub async fn list(db: &PgPool, granted: &Granted<perm::MembersRead>) -> AppResult<Vec<Member>> {
    Ok(sqlx::query_as!(
        Member,
        r#"SELECT u.id AS user_id, u.email, u.display_name, m.role AS "role: Role", m.created_at AS joined_at
           FROM memberships m JOIN users u ON u.id = m.user_id
           WHERE m.org_id = $1 ORDER BY m.created_at, u.id"#,
        granted.org_id
    )
    .fetch_all(db)
    .await?)
}

/// Serialises membership changes of one organisation, so two owners demoting each other at
/// once cannot both pass the "another owner remains" check.
async fn lock_memberships(conn: &mut PgConnection, org_id: Uuid) -> AppResult<()> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended($1::uuid::text, 11))",
        org_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

async fn member_role(conn: &mut PgConnection, org_id: Uuid, user_id: Uuid) -> AppResult<Role> {
    sqlx::query_scalar!(r#"SELECT role AS "role: Role" FROM memberships WHERE org_id = $1 AND user_id = $2 FOR UPDATE"#, org_id, user_id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| AppError::not_found("member"))
}

/// Admins manage members and admins; only owners touch owners (grant, change or remove).
fn check_can_manage(actor: &Actor, current: Role, new: Option<Role>) -> AppResult<()> {
    let touches_owner = current == Role::Owner || new == Some(Role::Owner);
    if touches_owner && actor.role != Role::Owner {
        return Err(AppError::forbidden(
            "only owners can grant, change or remove the owner role",
        ));
    }
    Ok(())
}

/// An organisation must keep at least one owner.
async fn ensure_other_owner(conn: &mut PgConnection, org_id: Uuid, user_id: Uuid) -> AppResult<()> {
    let others = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM memberships WHERE org_id = $1 AND role = 'owner' AND user_id <> $2"#,
        org_id,
        user_id
    )
    .fetch_one(conn)
    .await?;
    if others == 0 {
        return Err(AppError::conflict(
            "the organization must keep at least one owner",
        ));
    }
    Ok(())
}

pub async fn change_role(
    db: &PgPool,
    granted: &Granted<perm::MembersManage>,
    user_id: Uuid,
    input: ChangeRole,
) -> AppResult<Member> {
    let mut tx = db.begin().await?;
    lock_memberships(&mut tx, granted.org_id).await?;
    let current = member_role(&mut tx, granted.org_id, user_id).await?;
    check_can_manage(granted, current, Some(input.role))?;
    if current == Role::Owner && input.role != Role::Owner {
        ensure_other_owner(&mut tx, granted.org_id, user_id).await?;
    }
    sqlx::query!(
        "UPDATE memberships SET role = $3 WHERE org_id = $1 AND user_id = $2",
        granted.org_id,
        user_id,
        input.role as Role
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        granted,
        Event::new("member.role_change", "user", user_id)
            .details(serde_json::json!({ "from": current.as_str(), "to": input.role.as_str() })),
    )
    .await?;
    tx.commit().await?;
    list(db, &granted.also()?)
        .await?
        .into_iter()
        .find(|m| m.user_id == user_id)
        .ok_or_else(|| AppError::not_found("member"))
}

pub async fn remove(
    db: &PgPool,
    granted: &Granted<perm::MembersManage>,
    user_id: Uuid,
) -> AppResult<()> {
    let mut tx = db.begin().await?;
    lock_memberships(&mut tx, granted.org_id).await?;
    let current = member_role(&mut tx, granted.org_id, user_id).await?;
    check_can_manage(granted, current, None)?;
    if current == Role::Owner {
        ensure_other_owner(&mut tx, granted.org_id, user_id).await?;
    }
    sqlx::query!(
        "DELETE FROM memberships WHERE org_id = $1 AND user_id = $2",
        granted.org_id,
        user_id
    )
    .execute(&mut *tx)
    .await?;
    // Their API tokens for this organisation die with the membership.
    sqlx::query!("UPDATE api_tokens SET revoked_at = now() WHERE org_id = $1 AND user_id = $2 AND revoked_at IS NULL", granted.org_id, user_id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        granted,
        Event::new("member.remove", "user", user_id)
            .details(serde_json::json!({ "role": current.as_str() })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
