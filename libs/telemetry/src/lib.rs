//! Telemetry set-up in one place: JSON (or pretty) logs, optional OTLP trace export flushed on
//! shutdown, a Prometheus recorder, and W3C trace-context propagation helpers for the bus.

mod metrics_recorder;
mod propagation;

pub use metrics_recorder::{prometheus_handle, PrometheusHandle};
pub use propagation::{extract_context, inject_context};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use rc_config::{LogFormat, TelemetrySettings};
use std::sync::Once;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Flushes and shuts down trace export when dropped; keep it alive in `main`.
#[must_use = "dropping the guard immediately stops trace export"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(err) = provider.shutdown() {
                // The subscriber may already be gone; stderr is the last resort.
                eprintln!("telemetry: trace export shutdown failed: {err}");
            }
        }
    }
}

/// Installs the global subscriber for a service binary. `RUST_LOG` overrides the configured
/// filter so an operator can turn up logging without editing config.
pub fn init(service: &'static str, settings: &TelemetrySettings) -> anyhow::Result<TelemetryGuard> {
    let filter =
        EnvFilter::try_from_default_env().or_else(|_| EnvFilter::try_new(&settings.log_filter))?;
    let fmt_layer = match settings.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer().boxed(),
    };

    let provider = if settings.otlp_endpoint.is_empty() {
        None
    } else {
        Some(otlp_provider(service, settings)?)
    };
    let otel_layer = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer(service)));

    tracing_subscriber::registry()
        .with(filter)
        .with(fmt_layer)
        .with(otel_layer)
        .try_init()?;
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    tracing::info!(service, otlp = provider.is_some(), "telemetry initialised");
    Ok(TelemetryGuard { provider })
}

fn otlp_provider(
    service: &'static str,
    settings: &TelemetrySettings,
) -> anyhow::Result<SdkTracerProvider> {
    use opentelemetry_otlp::{WithExportConfig, WithHttpConfig as _};
    let endpoint = settings.otlp_endpoint.trim_end_matches('/');
    let endpoint = if endpoint.ends_with("/v1/traces") {
        endpoint.to_owned()
    } else {
        format!("{endpoint}/v1/traces")
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .with_headers(Default::default())
        .build()?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            settings.otlp_sample_ratio,
        ))))
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(service)
                .build(),
        )
        .build())
}

/// For tests: logs go to the test writer, and only when `TEST_LOG` is set, so a failing test's
/// output is readable and passing tests stay quiet. Safe to call from every test.
pub fn init_for_test() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let filter = EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init();
        }
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
    });
}
