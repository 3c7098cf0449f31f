//! The service boots on port 0 against real Postgres and a real S3-compatible server
//! (`scripts/start-s3.sh`), creates its bucket, reports readiness and stops gracefully.

use file_service::Application;
use rc_config::Settings;

#[tokio::test]
async fn boots_creates_its_bucket_reports_ready_and_stops_gracefully() {
    rc_telemetry::init_for_test();
    let db = rc_testkit::TestDb::new().await.expect("database");
    let mut settings = Settings::default();
    settings.database = db.settings();
    settings.file_service.port = 0;
    settings.s3.endpoint = rc_testkit::s3_endpoint();
    settings.s3.bucket = format!(
        "rctest-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let app = Application::build(settings.clone()).await.expect("builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    rc_testkit::service::assert_ops_endpoints(&base, &["postgres", "s3"]).await;
    let s3 = file_service::s3_client(&settings.s3);
    s3.head_bucket()
        .bucket(&settings.s3.bucket)
        .send()
        .await
        .expect("bucket was created at start-up");
    tx.send(()).expect("stop");
    server.await.expect("join").expect("clean exit");
    s3.delete_bucket()
        .bucket(&settings.s3.bucket)
        .send()
        .await
        .expect("cleanup");
}

#[tokio::test]
async fn s3_down_makes_readyz_fail_but_healthz_pass() {
    rc_telemetry::init_for_test();
    let db = rc_testkit::TestDb::new().await.expect("database");
    let mut settings = Settings::default();
    settings.database = db.settings();
    settings.file_service.port = 0;
    settings.s3.endpoint = "http://127.0.0.1:1".into();
    let app = Application::build(settings)
        .await
        .expect("builds even when S3 is down");
    let base = format!("http://127.0.0.1:{}", app.port());
    let server = tokio::spawn(app.run_until_stopped(std::future::pending()));
    assert_eq!(
        reqwest::get(format!("{base}/healthz"))
            .await
            .expect("healthz")
            .status(),
        200
    );
    let res = reqwest::get(format!("{base}/readyz"))
        .await
        .expect("readyz");
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["checks"]["s3"]["status"], "failing", "{body}");
    assert_eq!(body["checks"]["postgres"]["status"], "ok", "{body}");
    server.abort();
}
