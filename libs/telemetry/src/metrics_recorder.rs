pub use metrics_exporter_prometheus::PrometheusHandle;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use std::sync::OnceLock;

/// Latency buckets (seconds) shared by every histogram ending in `_seconds`: fine resolution
/// below 100 ms where API calls live, coarse up to minutes where Claude turns live.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// The process-wide Prometheus recorder. Installed on first use; later calls (several apps in
/// one test process) share it, which is what a global recorder means anyway.
pub fn prometheus_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
                .map(|b| b.build_recorder());
            match recorder {
                Ok(recorder) => {
                    let handle = recorder.handle();
                    // Histograms buffer samples until upkeep drains them; without a scrape
                    // nothing would, so a thread does it periodically.
                    let upkeep = handle.clone();
                    std::thread::Builder::new()
                        .name("metrics-upkeep".into())
                        .spawn(move || loop {
                            std::thread::sleep(std::time::Duration::from_secs(5));
                            upkeep.run_upkeep();
                        })
                        .ok();
                    // Fails only if another recorder is installed, in which case our handle
                    // simply renders nothing; not worth aborting a service for.
                    let _ = metrics::set_global_recorder(recorder);
                    handle
                }
                Err(err) => panic!("static Prometheus bucket configuration is invalid: {err}"),
            }
        })
        .clone()
}
