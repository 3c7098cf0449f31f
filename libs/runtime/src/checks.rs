//! Readiness checks for the backing services every binary uses.

use crate::ops::Readiness;
use deadpool_redis::redis;

impl Readiness {
    pub fn postgres(self, pool: sqlx::PgPool) -> Self {
        self.check("postgres", move || {
            let pool = pool.clone();
            async move {
                sqlx::query("SELECT 1")
                    .execute(&pool)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        })
    }

    pub fn redis(self, pool: deadpool_redis::Pool) -> Self {
        self.check("redis", move || {
            let pool = pool.clone();
            async move {
                let mut conn = pool.get().await.map_err(|e| e.to_string())?;
                redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        })
    }
}

/// A Redis pool that connects lazily (first use), like the database pool.
pub fn redis_pool(url: &str, size: usize) -> anyhow::Result<deadpool_redis::Pool> {
    let mut cfg = deadpool_redis::Config::from_url(url);
    cfg.pool = Some(deadpool_redis::PoolConfig {
        max_size: size,
        timeouts: deadpool_redis::Timeouts {
            wait: Some(std::time::Duration::from_secs(2)),
            create: Some(std::time::Duration::from_secs(2)),
            recycle: Some(std::time::Duration::from_secs(2)),
        },
        ..Default::default()
    });
    Ok(cfg.create_pool(Some(deadpool_redis::Runtime::Tokio1))?)
}
