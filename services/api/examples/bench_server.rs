//! Benchmark target for `bench/api-list-sessions.sh`: the real api and a bare actix-web handler
//! in one process, so a load generator can compare them in the same run on the same machine.
//!
//! * The api is built exactly as in production (`Application::build`: every middleware, token
//!   auth, Postgres pool, rate limiter, metrics), against a fresh database `rc_bench_<random>`
//!   created here and migrated at start-up. Its rate limit is raised so it does not throttle the
//!   load, and logs are at `warn` so per-request log lines do not dominate (override with
//!   `RUST_LOG`; logs go to stdout after the ready line).
//! * Seed: one user, one organisation, an owner membership, 50 sessions and a read-scoped API
//!   token.
//! * The bare server (`GET /bare`) answers with a static copy of the api's
//!   `GET /api/v1/sessions?limit=20` body fetched once at start-up, so both return the same
//!   bytes and the difference is the framework stack, auth and the database.
//!
//! Prints `BENCH_READY api=<base url> bare=<base url> token=<secret> org=<id> db=<url>` on
//! stdout (the script measures the list query alone against `db` with pgbench), then serves
//! until SIGTERM, Ctrl-C or end of stdin (pass `--no-stdin` to ignore stdin), and finally drops
//! the database and deletes the message-broker exchange and queues it created.
//!
//! Postgres server: `REMOTE_CLAUDE_BENCH_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432`),
//! Redis and RabbitMQ: the usual defaults (`rc_config::Settings::default()`).
//!
//! ```sh
//! SQLX_OFFLINE=true cargo run --release -p api --example bench_server
//! ```

#![allow(clippy::print_stdout)]

use actix_web::{web, App, HttpResponse, HttpServer};
use anyhow::{anyhow, Context};
use api::startup::Application;
use rc_auth::{authorize, perm, Actor, Credential, RequestMeta, Role, Scope};
use rc_config::Settings;
use sqlx::{Connection, Executor, PgConnection, PgPool};
use std::io::{Read, Write};
use std::net::TcpListener;
use uuid::Uuid;

const SESSIONS: usize = 50;
const LIST_PATH: &str = "/api/v1/sessions?limit=20";

fn postgres_base_url() -> String {
    std::env::var("REMOTE_CLAUDE_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
        .trim_end_matches('/')
        .to_owned()
}

async fn admin_connection() -> anyhow::Result<PgConnection> {
    let url = format!("{}/postgres", postgres_base_url());
    PgConnection::connect(&url)
        .await
        .with_context(|| format!("connecting to {url}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let watch_stdin = !std::env::args().any(|a| a == "--no-stdin");
    let unique = Uuid::new_v4().simple().to_string();
    let db_name = format!("rc_bench_{unique}");

    let mut settings = Settings::default();
    settings.database.url = rc_config::Secret::new(format!("{}/{db_name}", postgres_base_url()));
    settings.database.migrate_on_start = true;
    // Pool size matters on a small machine (each connection is a Postgres process competing for
    // the same cores); let a run try other sizes.
    if let Ok(n) = std::env::var("RC_DATABASE__MAX_CONNECTIONS") {
        settings.database.max_connections = n.parse().context("RC_DATABASE__MAX_CONNECTIONS")?;
    }
    settings.redis.key_prefix = format!("rcbench-{unique}");
    settings.amqp.exchange = format!("rcbench-{unique}");
    settings.api.port = 0;
    settings.api.frontend_dir = String::new();
    settings.api.rate_limit.per_second = 1_000_000;
    settings.api.rate_limit.burst = 1_000_000;
    settings.telemetry.log_filter = "warn".into();
    settings.telemetry.otlp_endpoint = String::new();
    let _telemetry = rc_telemetry::init(api::SERVICE, &settings.telemetry)?;

    admin_connection()
        .await?
        .execute(format!("CREATE DATABASE {db_name}").as_str())
        .await
        .with_context(|| format!("creating database {db_name}"))?;
    eprintln!("bench_server: created database {db_name}");

    let result = run(settings.clone(), watch_stdin).await;

    // Clean up whatever happened above.
    if let Err(err) = drop_database(&db_name).await {
        eprintln!("bench_server: could not drop database {db_name}: {err:#}");
    } else {
        eprintln!("bench_server: dropped database {db_name}");
    }
    if let Err(err) = delete_topology(&settings.amqp).await {
        eprintln!(
            "bench_server: could not delete exchange {}: {err:#}",
            settings.amqp.exchange
        );
    } else {
        eprintln!("bench_server: deleted exchange {}", settings.amqp.exchange);
    }
    result
}

async fn run(settings: Settings, watch_stdin: bool) -> anyhow::Result<()> {
    let app = Application::build(settings.clone())
        .await
        .context("building the api")?;
    let api_url = format!("http://127.0.0.1:{}", app.port());
    let stop = rc_runtime::Shutdown::default();
    let api = tokio::spawn(app.run_until_stopped({
        let stop = stop.clone();
        async move { stop.wait().await }
    }));

    // `build` migrated the database; seed it through a short-lived pool of our own.
    let seed_pool = PgPool::connect(settings.database.url.expose()).await?;
    let seeded = seed(&seed_pool).await;
    seed_pool.close().await;
    let (token, org) = match seeded {
        Ok(t) => t,
        Err(err) => {
            stop.trigger();
            let _ = api.await;
            return Err(err);
        }
    };

    let body = match fetch_list(&api_url, &token).await {
        Ok(b) => b,
        Err(err) => {
            stop.trigger();
            let _ = api.await;
            return Err(err);
        }
    };
    eprintln!(
        "bench_server: GET {LIST_PATH} answered 200 with {} bytes; /bare serves the same body",
        body.len()
    );

    let listener = TcpListener::bind(("127.0.0.1", 0))?;
    let bare_url = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
    let body = web::Data::new(web::Bytes::from(body));
    let bare = HttpServer::new(move || {
        App::new()
            .app_data(body.clone())
            .route("/bare", web::get().to(bare_handler))
    })
    .disable_signals()
    .shutdown_timeout(5)
    .listen(listener)?
    .run();
    let bare_handle = bare.handle();
    let bare_task = tokio::spawn(bare);

    // After the token: the script never echoes what follows `token=` (the database URL may
    // hold a password).
    println!(
        "BENCH_READY api={api_url} bare={bare_url} token={token} org={org} db={}",
        settings.database.url.expose()
    );
    std::io::stdout().flush()?;

    let stdin_closed = async {
        if watch_stdin {
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            std::thread::spawn(move || {
                let mut sink = [0u8; 256];
                let mut stdin = std::io::stdin();
                while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
                let _ = tx.send(());
            });
            let _ = rx.await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = rc_runtime::shutdown_signal() => {},
        () = stdin_closed => eprintln!("bench_server: stdin closed, stopping"),
    }

    stop.trigger();
    bare_handle.stop(true).await;
    let _ = bare_task.await;
    api.await.map_err(|e| anyhow!("api task: {e}"))??;
    Ok(())
}

async fn bare_handler(body: web::Data<web::Bytes>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body.get_ref().clone())
}

/// One user owning one organisation with [`SESSIONS`] sessions; returns a read-scoped token
/// and the organisation's id.
async fn seed(db: &PgPool) -> anyhow::Result<(String, Uuid)> {
    let user = Uuid::now_v7();
    let org = Uuid::now_v7();
    sqlx::query("INSERT INTO users (id, email, email_verified) VALUES ($1, $2, true)")
        .bind(user)
        .bind("bench@example.com")
        .execute(db)
        .await?;
    sqlx::query("INSERT INTO organizations (id, name, slug) VALUES ($1, 'Bench', $2)")
        .bind(org)
        .bind(format!("bench-{}", org.simple()))
        .execute(db)
        .await?;
    sqlx::query("INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, $3)")
        .bind(org)
        .bind(user)
        .bind(Role::Owner)
        .execute(db)
        .await?;
    let limits = serde_json::json!({
        "cpu_millis": 1000,
        "memory_mb": 2048,
        "pids": 256,
        "idle_timeout_secs": 1800,
        "max_duration_secs": 28800
    });
    for i in 0..SESSIONS {
        let (state, started) = match i % 3 {
            0 => ("running", true),
            1 => ("stopped", true),
            _ => ("pending", false),
        };
        sqlx::query(
            r#"INSERT INTO sessions (id, org_id, owner_id, name, state, image, limits, network_policy,
                                    repository_url, model, permission_mode, started_at, stopped_at)
               VALUES ($1, $2, $3, $4, $5::session_state, 'local/claude-sandbox:latest', $6, 'none',
                       $7, 'claude-sonnet-4-5', 'default',
                       CASE WHEN $8 THEN now() END,
                       CASE WHEN $5 = 'stopped' THEN now() END)"#,
        )
        .bind(Uuid::now_v7())
        .bind(org)
        .bind(user)
        .bind(format!("bench session {i}"))
        .bind(state)
        .bind(&limits)
        .bind(format!("https://github.com/example/repo-{i}.git"))
        .bind(started)
        .execute(db)
        .await?;
    }

    // Same path as the integration tests' `token_for`: a login-session owner grants the token.
    let actor = Actor {
        user_id: user,
        email: "bench@example.com".into(),
        org_id: org,
        role: Role::Owner,
        credential: Credential::LoginSession,
        meta: RequestMeta::default(),
    };
    let granted = authorize::<perm::TokensManage>(actor).map_err(|e| anyhow!("authorize: {e}"))?;
    let created = rc_domain::tokens::create(
        db,
        &granted,
        rc_domain::tokens::CreateToken {
            name: "bench".into(),
            scopes: vec![Scope::Read],
            expires_in_days: None,
        },
    )
    .await
    .map_err(|e| anyhow!("creating the API token: {e}"))?;
    Ok((created.secret, org))
}

/// The api's answer to the benchmarked request; anything but 200 is an error.
async fn fetch_list(api_url: &str, token: &str) -> anyhow::Result<Vec<u8>> {
    let res = reqwest::Client::new()
        .get(format!("{api_url}{LIST_PATH}"))
        .bearer_auth(token)
        .send()
        .await?;
    let status = res.status();
    let body = res.bytes().await?;
    if status != reqwest::StatusCode::OK {
        return Err(anyhow!(
            "GET {LIST_PATH} answered {status}: {}",
            String::from_utf8_lossy(&body)
        ));
    }
    let page: serde_json::Value = serde_json::from_slice(&body)?;
    let items = page["items"].as_array().map_or(0, Vec::len);
    if items != 20 {
        return Err(anyhow!(
            "GET {LIST_PATH} returned {items} items, expected 20"
        ));
    }
    Ok(body.to_vec())
}

async fn drop_database(name: &str) -> anyhow::Result<()> {
    admin_connection()
        .await?
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await?;
    Ok(())
}

async fn delete_topology(amqp: &rc_config::AmqpSettings) -> anyhow::Result<()> {
    let conn =
        lapin::Connection::connect(amqp.url.expose(), lapin::ConnectionProperties::default())
            .await?;
    let channel = conn.create_channel().await?;
    let result = rc_bus::topology::Topology::new(&amqp.exchange, amqp.max_deliveries)
        .delete(&channel)
        .await;
    let _ = conn.close(200, "done").await;
    result?;
    Ok(())
}
