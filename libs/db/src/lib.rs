//! Postgres access shared by the services: one pool constructor, the embedded migrations.

use rc_config::DatabaseSettings;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::str::FromStr;
use std::time::Duration;

pub use sqlx::migrate::Migrator;

/// Every migration in `migrations/`, embedded at compile time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

/// A lazily connecting pool: services start (and report "not ready") while the database is
/// down, instead of crash-looping.
pub fn pool(settings: &DatabaseSettings) -> Result<PgPool, sqlx::Error> {
    let options =
        PgConnectOptions::from_str(settings.url.expose())?.application_name("remote-claude");
    Ok(pool_with(settings, options))
}

pub fn pool_with(settings: &DatabaseSettings, options: PgConnectOptions) -> PgPool {
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .min_connections(settings.min_connections)
        .acquire_timeout(Duration::from_secs(settings.acquire_timeout_secs))
        // sqlx pings every connection as it is handed out by default: an extra round trip
        // per query that measurably halves throughput on the hot read paths (see bench/).
        // A dead connection still fails its query with an I/O error (503, retried by the
        // client) and is then discarded by the pool.
        .test_before_acquire(false)
        .connect_lazy_with(options)
}

/// Applies pending migrations.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await?;
    tracing::info!("database migrations applied");
    Ok(())
}

/// Readiness probe: one round trip.
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}
