//! The service boots on port 0 against the real backing services, reports readiness and
//! metrics, and stops gracefully when asked.

use rc_config::Settings;
use session_manager::Application;

#[tokio::test]
async fn boots_reports_ready_and_stops_gracefully() {
    rc_telemetry::init_for_test();
    let db = rc_testkit::TestDb::new().await.expect("database");
    let mut settings = Settings::default();
    settings.database = db.settings();
    settings.session_manager.port = 0;
    settings.amqp.exchange = format!("rctest-{}", uuid::Uuid::new_v4().simple());
    let app = Application::build(settings.clone()).await.expect("builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    rc_testkit::service::assert_ops_endpoints(&base, &["postgres", "redis", "rabbitmq"]).await;
    tx.send(()).expect("stop");
    server.await.expect("join").expect("clean exit");
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "still serving after shutdown"
    );
    rc_testkit::service::delete_bus_topology(&settings.amqp).await;
}
