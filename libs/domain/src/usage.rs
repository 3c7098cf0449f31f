//! Usage reports over `usage_records` (written by the model proxy).

use chrono::{DateTime, Utc};
use rc_auth::{perm, Granted};
use rc_errors::{AppError, AppResult};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema, async_graphql::Enum,
)]
#[serde(rename_all = "lowercase")]
pub enum UsageGroup {
    User,
    Session,
    Day,
}

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams, async_graphql::InputObject)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    pub group_by: UsageGroup,
    /// Inclusive start (RFC 3339); default 30 days ago.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive end (RFC 3339); default now.
    pub to: Option<DateTime<Utc>>,
}

/// One row of a usage report. `key` is the user id, session id or day (YYYY-MM-DD).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct UsageRow {
    pub key: String,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_creation_tokens: i64,
    pub cache_read_tokens: i64,
    /// Millionths of a US dollar.
    pub cost_micros: i64,
    pub model_calls: i64,
}

/// Members see their own usage; owners and admins everyone's.
pub async fn report(
    db: &PgPool,
    granted: &Granted<perm::UsageRead>,
    query: &UsageQuery,
) -> AppResult<Vec<UsageRow>> {
    let to = query.to.unwrap_or_else(Utc::now);
    // Checked arithmetic: chrono accepts years far outside any real range and would panic.
    let from = match query.from {
        Some(from) => from,
        None => to
            .checked_sub_signed(chrono::Duration::days(30))
            .ok_or_else(|| AppError::validation("to", "is out of range"))?,
    };
    if from >= to {
        return Err(AppError::validation("from", "must be before `to`"));
    }
    if to - from > chrono::Duration::days(366) {
        return Err(AppError::validation(
            "from",
            "the range may span at most 366 days",
        ));
    }
    let only_user = if granted.also::<perm::UsageReadAll>().is_ok() {
        None
    } else {
        Some(granted.user_id)
    };
    let group = match query.group_by {
        UsageGroup::User => "user",
        UsageGroup::Session => "session",
        UsageGroup::Day => "day",
    };
    let rows = sqlx::query!(
        r#"SELECT COALESCE(CASE $5
                    WHEN 'user' THEN user_id::text
                    WHEN 'session' THEN session_id::text
                    ELSE to_char((created_at AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') END, 'none') AS "key!",
                  sum(input_tokens)::bigint AS "input!", sum(output_tokens)::bigint AS "output!",
                  sum(cache_creation_tokens)::bigint AS "cache_creation!", sum(cache_read_tokens)::bigint AS "cache_read!",
                  sum(cost_micros)::bigint AS "cost!", count(*) AS "calls!"
           FROM usage_records
           WHERE org_id = $1 AND created_at >= $2 AND created_at < $3 AND ($4::uuid IS NULL OR user_id = $4)
           GROUP BY 1 ORDER BY 1"#,
        granted.org_id,
        from,
        to,
        only_user,
        group
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| UsageRow {
            key: r.key,
            input_tokens: r.input,
            output_tokens: r.output,
            cache_creation_tokens: r.cache_creation,
            cache_read_tokens: r.cache_read,
            cost_micros: r.cost,
            model_calls: r.calls,
        })
        .collect())
}
