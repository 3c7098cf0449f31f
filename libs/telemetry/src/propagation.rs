//! W3C trace context across process boundaries (RabbitMQ headers, internal HTTP calls).

use opentelemetry::propagation::{Extractor, Injector};
use std::collections::HashMap;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The current span's context as `traceparent`/`tracestate` entries.
pub fn inject_context(span: &tracing::Span) -> HashMap<String, String> {
    struct MapInjector<'a>(&'a mut HashMap<String, String>);
    impl Injector for MapInjector<'_> {
        fn set(&mut self, key: &str, value: String) {
            self.0.insert(key.to_owned(), value);
        }
    }
    let mut map = HashMap::new();
    let context = span.context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&context, &mut MapInjector(&mut map))
    });
    map
}

/// Makes `span` a child of the context carried in `headers` (no-op when absent).
pub fn extract_context(span: &tracing::Span, headers: &HashMap<String, String>) {
    struct MapExtractor<'a>(&'a HashMap<String, String>);
    impl Extractor for MapExtractor<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.get(key).map(String::as_str)
        }
        fn keys(&self) -> Vec<&str> {
            self.0.keys().map(String::as_str).collect()
        }
    }
    let parent =
        opentelemetry::global::get_text_map_propagator(|p| p.extract(&MapExtractor(headers)));
    let _ = span.set_parent(parent);
}
