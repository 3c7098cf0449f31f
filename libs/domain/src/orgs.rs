//! Organisations and their policy (limits that bound every session).

use crate::audit::{self, Event};
use crate::validate;
use chrono::{DateTime, Utc};
use rc_auth::{perm, Granted, RequestMeta, Role};
use rc_errors::{AppError, AppResult};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Limits and policy of an organisation. Stored as JSON; every field has a default so older
/// rows keep working when fields are added.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    async_graphql::SimpleObject,
    async_graphql::InputObject,
)]
#[serde(default, deny_unknown_fields)]
#[graphql(input_name = "OrgPolicyInput")]
pub struct OrgPolicy {
    /// Active (not stopped/failed) sessions one user may have.
    pub max_sessions_per_user: i32,
    /// Active sessions in the whole organisation.
    pub max_sessions_per_org: i32,
    pub max_cpu_millis: i32,
    pub max_memory_mb: i32,
    pub max_pids: i32,
    pub max_idle_timeout_secs: i32,
    pub max_duration_secs: i32,
    /// Sandbox images sessions may use; the first is the default.
    pub allowed_images: Vec<String>,
    /// Network policies sessions may use: none, allowlist, open.
    pub allowed_network_policies: Vec<String>,
    /// Hosts reachable under the `allowlist` policy.
    pub egress_allowlist: Vec<String>,
    pub default_model: String,
    /// Tools Claude may use without asking (Claude Code permission rules).
    pub allowed_tools: Vec<String>,
    /// Tools Claude may never use.
    pub denied_tools: Vec<String>,
    /// Monthly model spend limit in millionths of a dollar; 0 = unlimited.
    pub monthly_budget_micros: i64,
}

impl Default for OrgPolicy {
    fn default() -> Self {
        Self {
            max_sessions_per_user: 5,
            max_sessions_per_org: 50,
            max_cpu_millis: 2000,
            max_memory_mb: 4096,
            max_pids: 512,
            max_idle_timeout_secs: 4 * 3600,
            max_duration_secs: 24 * 3600,
            allowed_images: vec!["local/claude-sandbox:latest".into()],
            allowed_network_policies: vec!["none".into(), "allowlist".into()],
            egress_allowlist: vec![
                "github.com".into(),
                "registry.npmjs.org".into(),
                "pypi.org".into(),
                "crates.io".into(),
            ],
            default_model: "claude-sonnet-4-5".into(),
            allowed_tools: Vec::new(),
            denied_tools: Vec::new(),
            monthly_budget_micros: 0,
        }
    }
}

impl OrgPolicy {
    pub fn validate(&self) -> AppResult<()> {
        validate::in_range(
            "policy.max_sessions_per_user",
            self.max_sessions_per_user.into(),
            0,
            1000,
        )?;
        validate::in_range(
            "policy.max_sessions_per_org",
            self.max_sessions_per_org.into(),
            0,
            100_000,
        )?;
        validate::in_range(
            "policy.max_cpu_millis",
            self.max_cpu_millis.into(),
            100,
            64_000,
        )?;
        validate::in_range(
            "policy.max_memory_mb",
            self.max_memory_mb.into(),
            256,
            262_144,
        )?;
        validate::in_range("policy.max_pids", self.max_pids.into(), 32, 65_536)?;
        validate::in_range(
            "policy.max_idle_timeout_secs",
            self.max_idle_timeout_secs.into(),
            60,
            30 * 86_400,
        )?;
        validate::in_range(
            "policy.max_duration_secs",
            self.max_duration_secs.into(),
            60,
            30 * 86_400,
        )?;
        if self.allowed_images.is_empty()
            || self
                .allowed_images
                .iter()
                .any(|i| i.trim().is_empty() || i.len() > 255)
        {
            return Err(AppError::validation(
                "policy.allowed_images",
                "must list at least one image name",
            ));
        }
        if self.allowed_network_policies.is_empty()
            || self
                .allowed_network_policies
                .iter()
                .any(|p| !crate::sessions::NETWORK_POLICIES.contains(&p.as_str()))
        {
            return Err(AppError::validation(
                "policy.allowed_network_policies",
                "must be a non-empty subset of none, allowlist, open",
            ));
        }
        if self.default_model.trim().is_empty() {
            return Err(AppError::validation(
                "policy.default_model",
                "must not be empty",
            ));
        }
        if self.monthly_budget_micros < 0 {
            return Err(AppError::validation(
                "policy.monthly_budget_micros",
                "must not be negative",
            ));
        }
        Ok(())
    }
}

/// An organisation as seen by one of its members.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    /// The caller's role in it.
    pub role: Role,
    pub policy: OrgPolicy,
    pub created_at: DateTime<Utc>,
}

struct OrgRow {
    id: Uuid,
    name: String,
    slug: String,
    role: Role,
    policy: serde_json::Value,
    created_at: DateTime<Utc>,
}

impl OrgRow {
    fn into_org(self) -> Organization {
        Organization {
            id: self.id,
            name: self.name,
            slug: self.slug,
            role: self.role,
            // Unparsable policy (hand-edited row) falls back to defaults rather than locking
            // the organisation out; the write path always validates.
            policy: serde_json::from_value(self.policy).unwrap_or_default(),
            created_at: self.created_at,
        }
    }
}

/// Every organisation the user belongs to, oldest membership first.
pub async fn list_for_user(db: &PgPool, user_id: Uuid) -> AppResult<Vec<Organization>> {
    let rows = sqlx::query_as!(
        OrgRow,
        r#"SELECT o.id, o.name, o.slug, m.role AS "role: Role", o.policy, o.created_at
           FROM organizations o JOIN memberships m ON m.org_id = o.id
           WHERE m.user_id = $1 ORDER BY m.created_at, o.id"#,
        user_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(OrgRow::into_org).collect())
}

pub async fn current(db: &PgPool, granted: &Granted<perm::OrgRead>) -> AppResult<Organization> {
    let row = sqlx::query_as!(
        OrgRow,
        r#"SELECT o.id, o.name, o.slug, m.role AS "role: Role", o.policy, o.created_at
           FROM organizations o JOIN memberships m ON m.org_id = o.id
           WHERE o.id = $1 AND m.user_id = $2"#,
        granted.org_id,
        granted.user_id
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| AppError::not_found("organization"))?;
    Ok(row.into_org())
}

pub async fn policy(conn: &mut PgConnection, org_id: Uuid) -> AppResult<OrgPolicy> {
    let value = sqlx::query_scalar!("SELECT policy FROM organizations WHERE id = $1", org_id)
        .fetch_one(conn)
        .await?;
    Ok(serde_json::from_value(value).unwrap_or_default())
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganization {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrganization {
    pub name: Option<String>,
    pub policy: Option<OrgPolicy>,
}

fn slugify(name: &str) -> String {
    let mut slug: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while slug.contains("--") {
        slug = slug.replace("--", "-");
    }
    let slug = slug.trim_matches('-');
    let slug = if slug.is_empty() { "org" } else { slug };
    slug.chars().take(40).collect()
}

/// Creates an organisation with `user_id` as its owner, inside the caller's transaction.
pub(crate) async fn create_in(
    conn: &mut PgConnection,
    user_id: Uuid,
    name: &str,
) -> AppResult<Uuid> {
    let id = Uuid::now_v7();
    // Slugs are unique; a short id suffix avoids a retry loop on collisions.
    let slug = format!("{}-{}", slugify(name), &id.simple().to_string()[24..]);
    sqlx::query!(
        "INSERT INTO organizations (id, name, slug, policy) VALUES ($1, $2, $3, $4)",
        id,
        name,
        slug,
        serde_json::to_value(OrgPolicy::default()).map_err(AppError::internal)?
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, 'owner')",
        id,
        user_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// Any logged-in user may create an organisation; they become its owner.
pub async fn create(
    db: &PgPool,
    user_id: Uuid,
    label: &str,
    meta: &RequestMeta,
    input: CreateOrganization,
) -> AppResult<Organization> {
    let name = validate::name("name", &input.name)?;
    let mut tx = db.begin().await?;
    let id = create_in(&mut tx, user_id, &name).await?;
    audit::insert(
        &mut tx,
        Some(id),
        Some(user_id),
        label,
        meta,
        Event::new("org.create", "organization", id).details(serde_json::json!({ "name": name })),
    )
    .await?;
    tx.commit().await?;
    list_for_user(db, user_id)
        .await?
        .into_iter()
        .find(|o| o.id == id)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("created organisation vanished")))
}

pub async fn update(
    db: &PgPool,
    granted: &Granted<perm::OrgManage>,
    input: UpdateOrganization,
) -> AppResult<Organization> {
    let name = input
        .name
        .as_deref()
        .map(|n| validate::name("name", n))
        .transpose()?;
    if let Some(policy) = &input.policy {
        policy.validate()?;
    }
    let policy = input
        .policy
        .as_ref()
        .map(serde_json::to_value)
        .transpose()
        .map_err(AppError::internal)?;
    let mut tx = db.begin().await?;
    sqlx::query!(
        "UPDATE organizations SET name = COALESCE($2, name), policy = COALESCE($3, policy) WHERE id = $1",
        granted.org_id,
        name,
        policy
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        granted,
        Event::new("org.update", "organization", granted.org_id)
            .details(serde_json::json!({ "name": name, "policy_changed": policy.is_some() })),
    )
    .await?;
    tx.commit().await?;
    current(db, &granted.also::<perm::OrgRead>()?).await
}
