//! OTLP export is off by default, on when an endpoint is configured, and flushed when the
//! guard drops. A minimal HTTP listener stands in for the collector and records what arrives.

use rc_config::TelemetrySettings;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

/// Accepts connections, records "METHOD PATH content-type body-length" per request, answers 200.
fn collector() -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let (mut length, mut content_type) = (0usize, String::new());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() || line == "\r\n" || line.is_empty() {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if let Some(v) = lower.strip_prefix("content-type:") {
                    content_type = v.trim().to_owned();
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let parts: Vec<&str> = request_line.split_whitespace().collect();
            let _ = tx.send(format!(
                "{} {} {} {}",
                parts[0],
                parts[1],
                content_type,
                body.len()
            ));
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (format!("http://{addr}"), rx)
}

#[test]
fn spans_are_exported_by_otlp_http_and_flushed_on_shutdown() {
    let (endpoint, requests) = collector();
    let settings = TelemetrySettings {
        otlp_endpoint: endpoint,
        log_filter: "info".into(),
        ..TelemetrySettings::default()
    };
    let guard = rc_telemetry::init("otlp-test", &settings).expect("init");
    tracing::info_span!("request", route = "/api/v1/sessions")
        .in_scope(|| tracing::info!("inside"));
    // Nothing forces an export before shutdown: the batch processor would wait for its
    // interval, so receiving the span proves the guard flushed it.
    drop(guard);
    let request = requests
        .recv_timeout(Duration::from_secs(10))
        .expect("the collector received the spans");
    let parts: Vec<&str> = request.split(' ').collect();
    assert_eq!(parts[0], "POST");
    assert_eq!(parts[1], "/v1/traces");
    assert_eq!(parts[2], "application/x-protobuf");
    assert!(parts[3].parse::<usize>().expect("length") > 0, "{request}");
}
