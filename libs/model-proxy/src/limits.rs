//! The checks a metered request passes before it is forwarded: the organisation's request
//! rate (shared by every session-manager instance, so kept in Redis) and its monthly budget
//! (the sum of recorded costs, so read from Postgres).

use chrono::{DateTime, Datelike as _, TimeZone as _, Utc};
use deadpool_redis::redis;
use sqlx::PgPool;
use uuid::Uuid;

/// Why a request is refused, worded for the person at the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Denial {
    pub message: String,
    pub retry_after_secs: u64,
    /// Low-cardinality name for logs.
    pub limit: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum LimitError {
    #[error("could not read the organisation's budget: {0}")]
    Database(#[from] sqlx::Error),
    #[error("organisation not found")]
    UnknownOrg,
}

/// Counters live a little past their minute so a clock skew between instances cannot reset a
/// window early; the minute in the key keeps windows apart.
const WINDOW_KEY_TTL_SECS: i64 = 120;

#[derive(Clone)]
pub(crate) struct Limits {
    redis: deadpool_redis::Pool,
    key_prefix: String,
    requests_per_minute: u32,
    db: PgPool,
}

impl Limits {
    pub(crate) fn new(
        redis: deadpool_redis::Pool,
        key_prefix: &str,
        requests_per_minute: u32,
        db: PgPool,
    ) -> Self {
        Self {
            redis,
            key_prefix: key_prefix.to_owned(),
            requests_per_minute,
            db,
        }
    }

    /// `Ok(None)` when the request may go ahead.
    pub(crate) async fn check(
        &self,
        org_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<Denial>, LimitError> {
        if let Some(denial) = self.rate(org_id, now).await {
            return Ok(Some(denial));
        }
        self.budget(org_id, now).await
    }

    /// Fixed one-minute windows: `INCR` a per-org, per-minute counter. Requests refused here
    /// still count, so a client hammering the limit does not get through at the next tick any
    /// sooner. If Redis is unreachable the request goes ahead: the rate limit protects shared
    /// capacity, not money (the budget does that), and failing closed would stop every session.
    async fn rate(&self, org_id: Uuid, now: DateTime<Utc>) -> Option<Denial> {
        let limit = self.requests_per_minute;
        if limit == 0 {
            return None;
        }
        let minute = now.timestamp().div_euclid(60);
        let key = format!("{}:model-rpm:{org_id}:{minute}", self.key_prefix);
        let count = match self.increment(&key).await {
            Ok(count) => count,
            Err(err) => {
                tracing::warn!(%org_id, error = %err, "rate limit check skipped: Redis unavailable");
                return None;
            }
        };
        if count <= u64::from(limit) {
            return None;
        }
        let retry_after_secs = seconds_to_next_minute(now);
        Some(Denial {
            message: format!(
                "Organisation model request limit of {limit} requests per minute reached; \
                 try again in {retry_after_secs} s"
            ),
            retry_after_secs,
            limit: "requests_per_minute",
        })
    }

    async fn increment(&self, key: &str) -> Result<u64, Box<dyn std::error::Error + Send + Sync>> {
        let mut conn = self.redis.get().await?;
        let (count,): (u64,) = redis::pipe()
            .atomic()
            .incr(key, 1)
            .expire(key, WINDOW_KEY_TTL_SECS)
            .ignore()
            .query_async(&mut conn)
            .await?;
        Ok(count)
    }

    /// Spending counts from the start of the UTC month. A request already in flight can take
    /// the total past the budget; the next one is refused.
    async fn budget(&self, org_id: Uuid, now: DateTime<Utc>) -> Result<Option<Denial>, LimitError> {
        let budget = sqlx::query_scalar!(
            r#"SELECT COALESCE((policy->>'monthly_budget_micros')::bigint, 0) AS "budget!"
               FROM organizations WHERE id = $1"#,
            org_id
        )
        .fetch_optional(&self.db)
        .await?
        .ok_or(LimitError::UnknownOrg)?;
        if budget <= 0 {
            return Ok(None);
        }
        let (month_start, next_month) = month_bounds(now);
        let spent = sqlx::query_scalar!(
            r#"SELECT COALESCE(SUM(cost_micros), 0)::bigint AS "spent!"
               FROM usage_records WHERE org_id = $1 AND created_at >= $2"#,
            org_id,
            month_start
        )
        .fetch_one(&self.db)
        .await?;
        if spent < budget {
            return Ok(None);
        }
        Ok(Some(Denial {
            message: format!(
                "Organisation monthly model budget of {} reached ({} spent this month); \
                 it resets on the 1st (UTC) or an admin can raise it",
                dollars(budget),
                dollars(spent)
            ),
            retry_after_secs: seconds_until(now, next_month),
            limit: "monthly_budget",
        }))
    }
}

fn seconds_to_next_minute(now: DateTime<Utc>) -> u64 {
    // 1..=60: never 0, which would invite an immediate retry into the same window.
    (60 - now.timestamp().rem_euclid(60)) as u64
}

fn seconds_until(now: DateTime<Utc>, then: DateTime<Utc>) -> u64 {
    u64::try_from((then - now).num_seconds())
        .unwrap_or(0)
        .max(1)
}

/// Start of `now`'s UTC month and of the next one.
fn month_bounds(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = |year: i32, month: u32| {
        Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0)
            .single()
            // The first of a month at midnight UTC always exists; `now` is a safe stand-in.
            .unwrap_or(now)
    };
    let next = if now.month() == 12 {
        start(now.year() + 1, 1)
    } else {
        start(now.year(), now.month() + 1)
    };
    (start(now.year(), now.month()), next)
}

/// Micro-dollars as `$12.34` (cents, rounded down: a budget shown is never more than set).
fn dollars(micros: i64) -> String {
    let cents = micros / 10_000;
    format!("${}.{:02}", cents / 100, cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("timestamp")
            .with_timezone(&Utc)
    }

    #[test]
    fn month_bounds_are_utc_month_starts_including_december() {
        assert_eq!(
            month_bounds(at("2026-03-15T10:20:30Z")),
            (at("2026-03-01T00:00:00Z"), at("2026-04-01T00:00:00Z"))
        );
        assert_eq!(
            month_bounds(at("2026-12-31T23:59:59Z")),
            (at("2026-12-01T00:00:00Z"), at("2027-01-01T00:00:00Z"))
        );
        // Another timezone's late evening is already the next UTC month.
        let local = DateTime::parse_from_rfc3339("2026-04-30T22:00:00-05:00")
            .expect("ts")
            .with_timezone(&Utc);
        assert_eq!(month_bounds(local).0, at("2026-05-01T00:00:00Z"));
    }

    #[test]
    fn retry_after_is_never_zero() {
        assert_eq!(seconds_to_next_minute(at("2026-01-01T00:00:00Z")), 60);
        assert_eq!(seconds_to_next_minute(at("2026-01-01T00:00:59Z")), 1);
        let now = at("2026-01-31T23:59:59.5Z");
        assert_eq!(seconds_until(now, month_bounds(now).1), 1);
        assert_eq!(
            seconds_until(at("2026-01-31T00:00:00Z"), at("2026-02-01T00:00:00Z")),
            86_400
        );
    }

    #[test]
    fn dollars_are_shown_with_cents() {
        assert_eq!(dollars(0), "$0.00");
        assert_eq!(dollars(5_000_000), "$5.00");
        assert_eq!(dollars(12_345_678), "$12.34");
        assert_eq!(dollars(9_999), "$0.00");
    }
}
