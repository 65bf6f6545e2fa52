//! Prometheus: a recorder whose duration histograms have buckets, and scrape-time
//! rendering.
//!
//! `metrics-exporter-prometheus` renders histograms as summaries unless told their
//! buckets; [`builder`] sets the buckets of both duration histograms
//! ([`DURATION_BUCKETS_SECONDS`]) so that `histogram_quantile` works in PromQL, as the
//! dashboard's P95 wait panel needs.
//!
//! ```
//! use bulkhead_metrics::{prometheus, BulkheadMetrics};
//! use bulkhead_semaphore::SemaphoreBulkhead;
//!
//! let recorder = prometheus::builder().build_recorder();
//! let handle = recorder.handle();
//! // In a service: `let handle = prometheus::install()?;` installs it globally.
//! metrics::with_local_recorder(&recorder, || -> Result<(), Box<dyn std::error::Error>> {
//!     let metrics = BulkheadMetrics::new();
//!     let orders = SemaphoreBulkhead::builder("orders")
//!         .observer(metrics.observer("orders"))
//!         .build()?;
//!     metrics.register(orders.clone())?;
//!     drop(orders.try_acquire()?);
//!
//!     // What a /metrics endpoint answers:
//!     let page = prometheus::render(&metrics, &handle);
//!     assert!(page.contains(r#"bulkhead_admitted_total{bulkhead="orders"} 1"#));
//!     assert!(page.contains(r#"bulkhead_wait_duration_seconds_bucket{bulkhead="orders",le="0.0005"} 1"#));
//!     Ok(())
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use bulkhead_core::names::{
    CALL_DURATION_SECONDS, DURATION_BUCKETS_SECONDS, WAIT_DURATION_SECONDS,
};
use metrics_exporter_prometheus::Matcher;
pub use metrics_exporter_prometheus::{
    BuildError, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

use crate::BulkheadMetrics;

/// A Prometheus builder with the buckets of both duration histograms set; add your
/// own settings before building.
pub fn builder() -> PrometheusBuilder {
    let mut builder = PrometheusBuilder::new();
    for name in [WAIT_DURATION_SECONDS, CALL_DURATION_SECONDS] {
        builder = builder
            .set_buckets_for_metric(Matcher::Full(name.to_owned()), DURATION_BUCKETS_SECONDS)
            .expect("the bucket list is not empty");
    }
    builder
}

/// Builds the recorder of [`builder`] and installs it as the global recorder.
///
/// Install it before creating observers and registering compartments: their handles
/// bind to the recorder current at that moment. Histogram samples are kept until the
/// next [`render`] or [`PrometheusHandle::run_upkeep`]; a service scraped regularly
/// needs nothing else.
pub fn install() -> Result<PrometheusHandle, BuildError> {
    builder().install_recorder()
}

/// The text exposition a `/metrics` endpoint answers: publishes `metrics`'
/// compartments' stats, then renders.
pub fn render(metrics: &BulkheadMetrics, handle: &PrometheusHandle) -> String {
    metrics.publish();
    handle.render()
}
