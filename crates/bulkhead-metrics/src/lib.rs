//! Bulkhead compartments in the [`metrics`] facade, with the guide's Prometheus names,
//! and a health monitor.
//!
//! Three parts, each usable alone:
//!
//! - [`MetricsObserver`] ([`BulkheadMetrics::observer`]): attached to one compartment at
//!   build time, it records the two per-call distributions,
//!   `bulkhead_wait_duration_seconds` and `bulkhead_call_duration_seconds`, into fixed
//!   buckets with two relaxed atomic additions each; no key lookup, no allocation.
//! - [`BulkheadMetrics`]: the compartments whose [`Stats`](bulkhead_core::Stats) are
//!   published by sampling, at scrape time or on an interval: available permits, active
//!   tasks, capacity, waiting, admissions, rejections by reason, calls by outcome, and
//!   the figures only some kinds have ([`KindFigures`]). A call pays nothing for them.
//!   The observers' buckets are handed to the recorder at the same moment.
//! - [`HealthMonitor`]: utilisation and rejection rate per compartment over each
//!   interval, published as `bulkhead_utilization` and `bulkhead_rejection_rate`, a
//!   warning above the utilisation threshold (default 0.9), an error above the
//!   rejection-rate threshold (default 0.05), and a [`HealthReport`] to serve at
//!   `/health`.
//!
//! Every metric name is a constant of [`bulkhead_core::names`]; `docs/metrics.md`
//! lists them. Works with every compartment kind through
//! [`Compartment`].
//!
//! # Example
//!
//! ```
//! use bulkhead_metrics::{prometheus, BulkheadMetrics, HealthConfig, HealthMonitor};
//! use bulkhead_semaphore::SemaphoreBulkhead;
//!
//! # #[cfg(feature = "prometheus")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let recorder = prometheus::builder().build_recorder();
//! # let handle = recorder.handle();
//! # let _local = metrics::set_default_local_recorder(&recorder);
//! // Once, at start-up, before compartments are built:
//! // let handle = prometheus::install()?;
//! let metrics = BulkheadMetrics::new();
//!
//! let payments = SemaphoreBulkhead::builder("payments")
//!     .max_concurrent(10)
//!     .observer(metrics.observer("payments"))
//!     .build()?;
//! metrics.register(payments.clone())?;
//!
//! let monitor = HealthMonitor::new(&metrics, HealthConfig::default())?;
//! let _task = monitor.spawn();
//!
//! payments.execute(async { "paid" }).await?;
//!
//! // GET /metrics
//! let page = prometheus::render(&metrics, &handle);
//! assert!(page.contains(r#"bulkhead_calls_total{bulkhead="payments",outcome="ok"} 1"#));
//! assert!(page.contains(r#"bulkhead_available_permits{bulkhead="payments"} 10"#));
//! // GET /health
//! assert_eq!(monitor.report().http_status(), 200);
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "prometheus"))]
//! # fn main() {}
//! ```
//!
//! # Compartment kinds
//!
//! Everything a [`Stats`](bulkhead_core::Stats) snapshot holds is published for every
//! kind. Figures of one kind only (the runtime kind's busy ratio and global queue
//! depth, the pool kinds' size and idle connections) are read through [`KindFigures`],
//! a closure passed to [`BulkheadMetrics::register_with`], so that the kinds' crates
//! need no dependency on this one.
//!
//! # Feature flags
//!
//! - `prometheus`: [`prometheus`], a `metrics-exporter-prometheus` recorder with the
//!   histogram buckets set, and scrape-time rendering.
//! - `serde`: `Deserialize` for [`HealthConfig`], with durations such as `"10s"`.
//!
//! The [`HealthReport`] is always `Serialize`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod describe;
mod figures;
mod health;
mod histogram;
mod observer;
#[cfg(feature = "prometheus")]
#[cfg_attr(docsrs, doc(cfg(feature = "prometheus")))]
pub mod prometheus;
mod registry;

pub use bulkhead_core::{names, Compartment, Observer, SharedObserver};
pub use figures::KindFigures;
pub use health::{CompartmentHealth, HealthConfig, HealthMonitor, HealthReport, HealthStatus};
pub use observer::MetricsObserver;
pub use registry::{BulkheadMetrics, DuplicateCompartment};
