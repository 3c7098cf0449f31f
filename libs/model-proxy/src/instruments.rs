//! Metric names and their descriptions, in one place so dashboards have one list to follow.

pub(crate) const REQUESTS_TOTAL: &str = "rc_model_proxy_requests_total";
pub(crate) const TOKENS_TOTAL: &str = "rc_model_proxy_tokens_total";
pub(crate) const UPSTREAM_SECONDS: &str = "rc_model_proxy_upstream_seconds";

/// Registers descriptions with the installed recorder; harmless to repeat.
pub(crate) fn describe() {
    metrics::describe_counter!(
        REQUESTS_TOTAL,
        "Model API requests from sandboxes, by HTTP status returned to the sandbox"
    );
    metrics::describe_counter!(
        TOKENS_TOTAL,
        "Tokens used through the model proxy, by kind (input, output, cache_creation, cache_read)"
    );
    metrics::describe_histogram!(
        UPSTREAM_SECONDS,
        metrics::Unit::Seconds,
        "Time until the upstream model API answered with response headers \
         (a streamed turn then runs for as long as the model writes)"
    );
}

pub(crate) fn request(status: http::StatusCode) {
    metrics::counter!(REQUESTS_TOTAL, "status" => status.as_u16().to_string()).increment(1);
}
