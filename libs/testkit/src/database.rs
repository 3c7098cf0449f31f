use rc_config::DatabaseSettings;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection, PgPool};
use std::str::FromStr;
use tokio::sync::OnceCell;

/// A database of its own for one test, cloned from the migrated template.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
}

static TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// Name of the template for the current migration set: a hash of the migrations' checksums.
fn template_name() -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for m in rc_db::MIGRATOR.iter() {
        for b in m.checksum.iter().chain(m.version.to_le_bytes().iter()) {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("rc_template_{hash:016x}")
}

async fn admin_connection() -> anyhow::Result<PgConnection> {
    let url = format!("{}/postgres", crate::postgres_base_url());
    Ok(PgConnection::connect(&url).await?)
}

async fn ensure_template() -> anyhow::Result<String> {
    let name = template_name();
    let mut conn = admin_connection().await?;
    // Test binaries run in parallel processes: serialise template creation across them.
    conn.execute("SELECT pg_advisory_lock(727272)").await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut conn)
            .await?;
    let result = async {
        if !exists {
            let building = format!("{name}_building");
            conn.execute(format!("DROP DATABASE IF EXISTS {building}").as_str())
                .await?;
            conn.execute(format!("CREATE DATABASE {building}").as_str())
                .await?;
            let url = format!("{}/{building}", crate::postgres_base_url());
            let pool = PgPool::connect(&url).await?;
            rc_db::migrate(&pool).await?;
            pool.close().await;
            conn.execute(format!("ALTER DATABASE {building} RENAME TO {name}").as_str())
                .await?;
            conn.execute(format!("ALTER DATABASE {name} WITH IS_TEMPLATE true").as_str())
                .await?;
        }
        anyhow::Ok(())
    }
    .await;
    conn.execute("SELECT pg_advisory_unlock(727272)").await?;
    result?;
    Ok(name)
}

impl TestDb {
    pub async fn new() -> anyhow::Result<Self> {
        let template = TEMPLATE.get_or_try_init(ensure_template).await?.clone();
        let name = format!("rc_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = admin_connection().await?;
        conn.execute(format!("CREATE DATABASE {name} TEMPLATE {template}").as_str())
            .await?;
        let url = format!("{}/{name}", crate::postgres_base_url());
        let pool = rc_db::pool_with(&Self::settings_for(&url), PgConnectOptions::from_str(&url)?);
        Ok(Self { name, url, pool })
    }

    /// Database settings pointing at this database.
    pub fn settings(&self) -> DatabaseSettings {
        Self::settings_for(&self.url)
    }

    fn settings_for(url: &str) -> DatabaseSettings {
        DatabaseSettings {
            url: rc_config::Secret::new(url),
            max_connections: 10,
            migrate_on_start: false,
            ..DatabaseSettings::default()
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop runs inside (or outside) an async runtime; a plain thread with its own small
        // runtime works in both cases. The test's runtime is blocked while we wait, so the
        // pool cannot be closed gracefully: FORCE terminates its connections server-side.
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut conn) = admin_connection().await {
                    let _ = conn
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await;
                }
            });
        })
        .join();
    }
}
