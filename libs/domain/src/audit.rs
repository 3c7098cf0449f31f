//! The audit log: one row per mutation, written in the mutation's transaction. The table is
//! append-only in the database itself (see the migration); this module only inserts and reads.

use crate::pagination::MAX_LIMIT;
use chrono::{DateTime, Utc};
use rc_auth::{perm, Actor, Granted, RequestMeta};
use rc_errors::{AppError, AppResult};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

/// A recorded action.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject, sqlx::FromRow)]
#[graphql(complex)]
pub struct AuditEntry {
    /// Monotonic; used as the pagination cursor.
    pub id: i64,
    pub org_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub actor_label: String,
    /// Dotted verb such as `session.create` or `member.role_change`.
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    #[schema(value_type = Object)]
    #[graphql(skip)]
    pub details: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

#[async_graphql::ComplexObject]
impl AuditEntry {
    /// Action-specific details (e.g. the old and new role of a role change).
    #[graphql(name = "details")]
    async fn details_json(&self) -> async_graphql::Json<serde_json::Value> {
        async_graphql::Json(self.details.clone())
    }
}

/// What happened, to what.
pub struct Event<'a> {
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: Option<String>,
    pub details: serde_json::Value,
}

impl<'a> Event<'a> {
    pub fn new(action: &'a str, target_type: &'a str, target_id: impl ToString) -> Self {
        Self {
            action,
            target_type,
            target_id: Some(target_id.to_string()),
            details: serde_json::json!({}),
        }
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// Records an action by an authenticated actor in their organisation.
pub async fn record(conn: &mut PgConnection, actor: &Actor, event: Event<'_>) -> AppResult<()> {
    insert(
        conn,
        Some(actor.org_id),
        Some(actor.user_id),
        &actor.label(),
        &actor.meta,
        event,
    )
    .await
}

/// Records an action whose actor is not (yet) an [`Actor`]: logins, logouts, invitation
/// acceptance.
pub async fn insert(
    conn: &mut PgConnection,
    org_id: Option<Uuid>,
    actor_id: Option<Uuid>,
    actor_label: &str,
    meta: &RequestMeta,
    event: Event<'_>,
) -> AppResult<()> {
    sqlx::query!(
        r#"INSERT INTO audit_logs (org_id, actor_id, actor_label, action, target_type, target_id, ip, user_agent, request_id, details)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"#,
        org_id,
        actor_id,
        actor_label,
        event.action,
        event.target_type,
        event.target_id,
        meta.ip,
        meta.user_agent,
        meta.request_id,
        event.details,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Filters for listing and export. All optional; combined with AND.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams, async_graphql::InputObject)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// Actor user id.
    pub actor_id: Option<Uuid>,
    /// Exact action, e.g. `session.create`; a trailing `.*` matches a prefix (`session.*`).
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// Inclusive lower bound (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound (RFC 3339).
    pub to: Option<DateTime<Utc>>,
}

/// A page of the audit log, newest first. Cursor = the last entry's id.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

fn action_pattern(action: &Option<String>) -> AppResult<Option<String>> {
    match action.as_deref() {
        None | Some("") => Ok(None),
        // `%` and `\` would act as LIKE syntax; `_` is escaped below.
        Some(a) if a.len() > 100 || a.contains(['%', '\\']) => Err(AppError::validation(
            "action",
            "must be an action name, optionally ending in .*",
        )),
        Some(a) => Ok(Some(match a.strip_suffix(".*") {
            Some(prefix) => format!("{}.%", prefix.replace('_', "\\_")),
            None => a.replace('_', "\\_"),
        })),
    }
}

pub async fn list(
    db: &sqlx::PgPool,
    granted: &Granted<perm::AuditRead>,
    filter: &AuditFilter,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> AppResult<AuditPage> {
    let limit = limit.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::validation(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let before: Option<i64> =
        match cursor.filter(|c| !c.is_empty()) {
            Some(c) => Some(c.parse().map_err(|_| {
                AppError::validation("cursor", "is not a cursor returned by this API")
            })?),
            None => None,
        };
    let mut rows = query(db, granted.org_id, filter, before, limit + 1).await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if has_more {
        rows.last().map(|r| r.id.to_string())
    } else {
        None
    };
    Ok(AuditPage {
        items: rows,
        next_cursor,
    })
}

/// Largest export in one request; narrower filters get the rest.
pub const EXPORT_MAX_ROWS: i64 = 100_000;

pub async fn export(
    db: &sqlx::PgPool,
    granted: &Granted<perm::AuditRead>,
    filter: &AuditFilter,
) -> AppResult<Vec<AuditEntry>> {
    query(db, granted.org_id, filter, None, EXPORT_MAX_ROWS).await
}

async fn query(
    db: &sqlx::PgPool,
    org_id: Uuid,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: i64,
) -> AppResult<Vec<AuditEntry>> {
    if let (Some(from), Some(to)) = (filter.from, filter.to) {
        if from >= to {
            return Err(AppError::validation("from", "must be before `to`"));
        }
    }
    let action = action_pattern(&filter.action)?;
    let rows = sqlx::query_as!(
        AuditEntry,
        r#"SELECT id, org_id, actor_id, actor_label, action, target_type, target_id, ip, user_agent, request_id, details, created_at
           FROM audit_logs
           WHERE org_id = $1
             AND ($2::uuid IS NULL OR actor_id = $2)
             AND ($3::text IS NULL OR action LIKE $3)
             AND ($4::text IS NULL OR target_type = $4)
             AND ($5::text IS NULL OR target_id = $5)
             AND ($6::timestamptz IS NULL OR created_at >= $6)
             AND ($7::timestamptz IS NULL OR created_at < $7)
             AND ($8::bigint IS NULL OR id < $8)
           ORDER BY id DESC
           LIMIT $9"#,
        org_id,
        filter.actor_id,
        action,
        filter.target_type,
        filter.target_id,
        filter.from,
        filter.to,
        before,
        limit,
    )
    .fetch_all(db)
    .await?;
    Ok(rows)
}

/// CSV with a header row; `details` as compact JSON.
pub fn to_csv(rows: &[AuditEntry]) -> AppResult<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "id",
        "created_at",
        "actor_id",
        "actor_label",
        "action",
        "target_type",
        "target_id",
        "ip",
        "user_agent",
        "request_id",
        "details",
    ])
    .map_err(AppError::internal)?;
    for r in rows {
        w.write_record([
            r.id.to_string(),
            r.created_at.to_rfc3339(),
            r.actor_id.map(|u| u.to_string()).unwrap_or_default(),
            csv_safe(&r.actor_label),
            r.action.clone(),
            r.target_type.clone(),
            r.target_id.clone().unwrap_or_default(),
            r.ip.clone().unwrap_or_default(),
            csv_safe(r.user_agent.as_deref().unwrap_or_default()),
            r.request_id.clone().unwrap_or_default(),
            r.details.to_string(),
        ])
        .map_err(AppError::internal)?;
    }
    w.into_inner()
        .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))
}

/// Spreadsheet formula injection: a cell starting with = + - @ is prefixed with a quote.
fn csv_safe(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}
