//! Checks shared by the service tests.

use rc_config::AmqpSettings;

/// `/healthz` 200, `/readyz` 200 with every named dependency "ok", `/metrics` in Prometheus
/// text format with the per-route request counter.
pub async fn assert_ops_endpoints(base: &str, dependencies: &[&str]) {
    let health = reqwest::get(format!("{base}/healthz"))
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let ready = reqwest::get(format!("{base}/readyz"))
        .await
        .expect("readyz");
    let status = ready.status();
    let body: serde_json::Value = ready.json().await.expect("readyz json");
    assert_eq!(status, 200, "{body}");
    for dep in dependencies {
        assert_eq!(body["checks"][dep]["status"], "ok", "{dep}: {body}");
    }
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("rc_http_requests_total"), "{metrics}");
    assert!(metrics.contains("route=\"/readyz\""), "{metrics}");
}

/// Removes a test's throwaway exchange and queues from the shared broker.
pub async fn delete_bus_topology(settings: &AmqpSettings) {
    let conn = lapin::Connection::connect(
        settings.url.expose(),
        lapin::ConnectionProperties::default(),
    )
    .await
    .expect("broker");
    let channel = conn.create_channel().await.expect("channel");
    rc_bus::topology::Topology::new(&settings.exchange, settings.max_deliveries)
        .delete(&channel)
        .await
        .expect("delete topology");
    let _ = conn.close(200, "done").await;
}
