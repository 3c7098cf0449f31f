//! Writes one `usage_records` row per metered response. Response bodies end inside hyper's
//! synchronous polling (or in a `Drop` when the client goes away), where nothing can be
//! awaited, so they hand their usage to this per-connection task instead.

use crate::instruments;
use crate::pricing::PriceList;
use crate::usage::Usage;
use sqlx::PgPool;
use std::sync::Arc;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Who a response is billed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Attribution {
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub task_id: Option<Uuid>,
}

#[derive(Debug)]
pub(crate) struct Completed {
    pub attribution: Attribution,
    pub usage: Usage,
}

/// Unbounded because senders cannot wait (see the module doc); it holds at most one entry per
/// response, and responses are paced by the model.
pub(crate) type Sender = mpsc::UnboundedSender<Completed>;

/// Records until every sender is gone, i.e. until the connection and all its response bodies
/// have been dropped.
pub(crate) async fn run(
    db: PgPool,
    prices: Arc<PriceList>,
    mut rx: mpsc::UnboundedReceiver<Completed>,
) {
    while let Some(completed) = rx.recv().await {
        record(&db, &prices, &completed).await;
    }
}

async fn record(db: &PgPool, prices: &PriceList, completed: &Completed) {
    let Completed { attribution, usage } = completed;
    count_tokens(usage);
    let model = usage.model.as_deref().unwrap_or("unknown");
    let cost_micros = prices.cost_micros(model, usage).unwrap_or_else(|| {
        tracing::warn!(
            model,
            "no price configured for model; usage recorded at zero cost"
        );
        0
    });
    let result = sqlx::query!(
        "INSERT INTO usage_records (org_id, user_id, session_id, task_id, model, input_tokens,
             output_tokens, cache_creation_tokens, cache_read_tokens, cost_micros)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        attribution.org_id,
        attribution.user_id,
        attribution.session_id,
        attribution.task_id,
        model,
        db_count(usage.input_tokens),
        db_count(usage.output_tokens),
        db_count(usage.cache_creation_tokens),
        db_count(usage.cache_read_tokens),
        cost_micros,
    )
    .execute(db)
    .await;
    match result {
        Ok(_) => tracing::debug!(
            org_id = %attribution.org_id,
            session_id = %attribution.session_id,
            model,
            input_tokens = usage.input_tokens,
            output_tokens = usage.output_tokens,
            cost_micros,
            "usage recorded"
        ),
        // Lost usage is under-billing, never a broken session: log loudly and go on.
        Err(err) => tracing::error!(
            org_id = %attribution.org_id,
            session_id = %attribution.session_id,
            model,
            cost_micros,
            error = %err,
            "could not record model usage"
        ),
    }
}

fn count_tokens(usage: &Usage) {
    for (kind, n) in [
        ("input", usage.input_tokens),
        ("output", usage.output_tokens),
        ("cache_creation", usage.cache_creation_tokens),
        ("cache_read", usage.cache_read_tokens),
    ] {
        metrics::counter!(instruments::TOKENS_TOTAL, "kind" => kind).increment(n);
    }
}

fn db_count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
