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

/// How long a billing block lasts (Claude's rolling usage window).
pub const BLOCK_HOURS: i64 = 5;
/// How far back the block chain is followed. Blocks chain from one to the next, so the
/// current one depends on the history; it is followed from the first usage in this window
/// (exact unless the user had usage at least every 5 hours for a whole week).
pub const BLOCK_LOOKBACK_DAYS: i64 = 7;

/// The caller's current rolling 5-hour usage block in the selected organisation, as Claude's
/// plans count it: a block starts at the hour of the first usage after the previous block
/// ended and lasts 5 hours. Rates are over the block's elapsed time.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct UsageBlock {
    /// A block is running now (false: the last one ended; every figure is 0).
    pub active: bool,
    /// Null without an active block.
    #[schema(required = true)]
    pub started_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub ends_at: Option<DateTime<Utc>>,
    /// Input, output, cache creation and cache read tokens together.
    pub total_tokens: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
    pub model_calls: i64,
    /// Total tokens per minute of the block's elapsed time.
    pub burn_rate_tokens_per_minute: f64,
    /// Cost per hour of the block's elapsed time.
    pub cost_per_hour_usd: f64,
    /// Seconds until the block ends (0 without an active block).
    pub time_left_secs: i64,
}

/// Usage of one clock hour (UTC), the unit blocks are made of (a block starts on an hour, so
/// whether a record falls into it depends only on the record's hour).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HourUsage {
    pub hour: DateTime<Utc>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_tokens: i64,
    pub cost_micros: i64,
    pub model_calls: i64,
}

impl UsageBlock {
    fn inactive() -> Self {
        Self {
            active: false,
            started_at: None,
            ends_at: None,
            total_tokens: 0,
            input_tokens: 0,
            output_tokens: 0,
            cost_usd: 0.0,
            model_calls: 0,
            burn_rate_tokens_per_minute: 0.0,
            cost_per_hour_usd: 0.0,
            time_left_secs: 0,
        }
    }
}

/// The block running at `now`, from hourly usage in ascending order (hours after `now` are
/// ignored).
pub fn current_block(hours: &[HourUsage], now: DateTime<Utc>) -> UsageBlock {
    let length = chrono::Duration::hours(BLOCK_HOURS);
    let mut block: Option<(DateTime<Utc>, HourUsage)> = None;
    for hour in hours.iter().filter(|h| h.hour <= now) {
        match &mut block {
            Some((start, sum)) if hour.hour < *start + length => {
                sum.input_tokens += hour.input_tokens;
                sum.output_tokens += hour.output_tokens;
                sum.cache_tokens += hour.cache_tokens;
                sum.cost_micros += hour.cost_micros;
                sum.model_calls += hour.model_calls;
            }
            _ => block = Some((hour.hour, *hour)),
        }
    }
    let Some((start, sum)) = block else {
        return UsageBlock::inactive();
    };
    let end = start + length;
    if end <= now {
        return UsageBlock::inactive();
    }
    let total_tokens = sum.input_tokens + sum.output_tokens + sum.cache_tokens;
    let cost_usd = sum.cost_micros as f64 / 1_000_000.0;
    // At least a second, so a block that starts this instant has finite rates.
    let elapsed_secs = ((now - start).num_milliseconds() as f64 / 1000.0).max(1.0);
    UsageBlock {
        active: true,
        started_at: Some(start),
        ends_at: Some(end),
        total_tokens,
        input_tokens: sum.input_tokens,
        output_tokens: sum.output_tokens,
        cost_usd,
        model_calls: sum.model_calls,
        burn_rate_tokens_per_minute: total_tokens as f64 / (elapsed_secs / 60.0),
        cost_per_hour_usd: cost_usd / (elapsed_secs / 3600.0),
        time_left_secs: (end - now).num_seconds().max(0),
    }
}

/// The caller's own current block (every role, viewers included, sees only their own usage
/// here).
pub async fn block(
    db: &PgPool,
    granted: &Granted<perm::UsageRead>,
    now: DateTime<Utc>,
) -> AppResult<UsageBlock> {
    let since = now - chrono::Duration::days(BLOCK_LOOKBACK_DAYS);
    let rows = sqlx::query!(
        r#"SELECT date_trunc('hour', created_at) AS "hour!",
                  sum(input_tokens)::bigint AS "input!", sum(output_tokens)::bigint AS "output!",
                  sum(cache_creation_tokens + cache_read_tokens)::bigint AS "cache!",
                  sum(cost_micros)::bigint AS "cost!", count(*) AS "calls!"
           FROM usage_records
           WHERE org_id = $1 AND user_id = $2 AND created_at >= $3 AND created_at <= $4
           GROUP BY 1 ORDER BY 1"#,
        granted.org_id,
        granted.user_id,
        since,
        now
    )
    .fetch_all(db)
    .await?;
    let hours: Vec<HourUsage> = rows
        .into_iter()
        .map(|r| HourUsage {
            hour: r.hour,
            input_tokens: r.input,
            output_tokens: r.output,
            cache_tokens: r.cache,
            cost_micros: r.cost,
            model_calls: r.calls,
        })
        .collect();
    Ok(current_block(&hours, now))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn hour(s: &str, input: i64) -> HourUsage {
        HourUsage {
            hour: at(s),
            input_tokens: input,
            output_tokens: 1,
            cache_tokens: 2,
            cost_micros: 1_000_000,
            model_calls: 1,
        }
    }

    #[test]
    fn no_usage_or_an_ended_block_is_inactive() {
        let now = at("2026-11-26T12:30:00Z");
        assert_eq!(current_block(&[], now), UsageBlock::inactive());
        // 07:00 + 5 h = 12:00 <= 12:30: over.
        let block = current_block(&[hour("2026-11-26T07:00:00Z", 10)], now);
        assert!(!block.active);
        assert_eq!(block.started_at, None);
        assert_eq!(block.time_left_secs, 0);
    }

    #[test]
    fn a_block_lasts_five_hours_from_its_first_hour_then_the_next_one_starts() {
        let hours = [
            hour("2026-11-26T03:00:00Z", 1000), // block 03:00-08:00
            hour("2026-11-26T07:00:00Z", 100),  // still in it
            hour("2026-11-26T08:00:00Z", 10),   // first hour after: block 08:00-13:00
            hour("2026-11-26T12:00:00Z", 1),
        ];
        let now = at("2026-11-26T12:30:00Z");
        let block = current_block(&hours, now);
        assert!(block.active);
        assert_eq!(block.started_at, Some(at("2026-11-26T08:00:00Z")));
        assert_eq!(block.ends_at, Some(at("2026-11-26T13:00:00Z")));
        assert_eq!(block.input_tokens, 11);
        assert_eq!(block.output_tokens, 2);
        assert_eq!(block.total_tokens, 11 + 2 + 4);
        assert_eq!(block.model_calls, 2);
        assert!((block.cost_usd - 2.0).abs() < 1e-9);
        assert_eq!(block.time_left_secs, 1800);
        // 17 tokens over 4.5 hours (270 minutes); 2 USD over 4.5 hours.
        assert!((block.burn_rate_tokens_per_minute - 17.0 / 270.0).abs() < 1e-9);
        assert!((block.cost_per_hour_usd - 2.0 / 4.5).abs() < 1e-9);
    }

    #[test]
    fn a_gap_ends_the_chain_and_future_hours_are_ignored() {
        let hours = [
            hour("2026-11-26T01:00:00Z", 5),
            hour("2026-11-26T10:00:00Z", 7),
            hour("2026-11-26T13:00:00Z", 1000),
        ];
        let block = current_block(&hours, at("2026-11-26T10:00:00Z"));
        assert_eq!(block.started_at, Some(at("2026-11-26T10:00:00Z")));
        assert_eq!(block.input_tokens, 7);
        assert_eq!(block.time_left_secs, 5 * 3600);
        assert!(block.burn_rate_tokens_per_minute.is_finite());
    }
}
