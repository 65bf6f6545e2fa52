//! The bulkhead pattern for tokio services: named, bounded compartments, so that one
//! slow or failing downstream cannot take the whole process down.
//!
//! A **compartment** is a named share of some resource (concurrent calls, a runtime,
//! pooled connections). Every call through it takes a slot, released on every path;
//! when the slots are gone, callers wait a bounded time or are refused with a
//! [`Rejected`] that names the compartment and the [`RejectReason`]. Each compartment
//! reports [`Stats`] and emits events to an [`Observer`].
//!
//! This crate gathers the workspace's crates behind additive features, so one
//! dependency is enough:
//!
//! - the core vocabulary at the root: [`Compartment`], [`Admission`], [`Rejected`],
//!   [`CallError`], [`Stats`], [`Observer`], [`names`], ...;
#![cfg_attr(
    feature = "semaphore",
    doc = "- [`semaphore`]: compartments for I/O-bound calls, with [`SemaphoreBulkhead`] and"
)]
#![cfg_attr(
    not(feature = "semaphore"),
    doc = "- `semaphore`: compartments for I/O-bound calls, with `SemaphoreBulkhead` and"
)]
//!   `SemaphoreConfig` also at the root;
//! - `tower`: any compartment as a tower layer in front of axum, tonic or hyper
//!   services.
//! - `runtime`: compartments that own a tokio runtime, for CPU-heavy or untrusted
//!   work, with tokio-metrics figures.
//! - `registry`: compartments named in TOML/YAML files and environment variables,
//!   built by a plugin per kind, looked up by name, reloaded live.
//! - `metrics`: each compartment in the `metrics` facade with the Prometheus names of
//!   the guide's dashboard, and a health monitor.
//! - `otlp`: a span per guarded call and OpenTelemetry instruments, exported over OTLP.
//! - `deadpool`, `bb8`: connection pools as compartments, one slot per connection; with
//!   `postgres`, the guide's read/write `DatabaseBulkhead` over tokio-postgres.
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "semaphore")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use bulkhead::{RejectReason, SemaphoreBulkhead, SemaphoreConfig};
//!
//! // At most 10 calls to the payment API at once; others wait up to 100 ms.
//! let payments = SemaphoreBulkhead::new(
//!     "payments",
//!     SemaphoreConfig::new(10).max_wait(Duration::from_millis(100)),
//! )?;
//!
//! let receipt = payments.execute(async { "paid" }).await?;
//! assert_eq!(receipt, "paid");
//!
//! match payments.try_execute(async { "paid again" }).await {
//!     Ok(receipt) => assert_eq!(receipt, "paid again"),
//!     Err(rejected) => assert_eq!(rejected.reason(), RejectReason::Full),
//! }
//! assert_eq!(payments.stats().completed, 2);
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "semaphore"))]
//! # fn main() {}
//! ```
//!
//! With the `http` feature, a route of an axum (or any tower) HTTP service gets its
//! own compartment, and a full compartment answers `503 Service Unavailable`:
//!
//! ```
//! # #[cfg(all(feature = "http", feature = "semaphore"))]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use bulkhead::tower::HttpBulkheadLayer;
//! use bulkhead::{SemaphoreBulkhead, SemaphoreConfig};
//! use http::{Request, Response};
//! use tower::{service_fn, Layer, ServiceExt};
//!
//! let reports = SemaphoreBulkhead::new("reports", SemaphoreConfig::new(4))?;
//! let service = HttpBulkheadLayer::new(reports.clone()).layer(service_fn(
//!     |_: Request<String>| async { Ok::<_, std::convert::Infallible>(Response::new("report".to_owned())) },
//! ));
//!
//! reports.close();
//! let response = service.oneshot(Request::new(String::new())).await?;
//! assert_eq!(response.status(), 503);
//! assert_eq!(response.headers()["x-bulkhead"], "reports");
//! # Ok(())
//! # }
//! # #[cfg(not(all(feature = "http", feature = "semaphore")))]
//! # fn main() {}
//! ```
//!
//! # Feature flags
//!
//! All features are additive.
//!
//! - `semaphore` (default): semaphore compartments, `bulkhead::semaphore`.
//! - `serde` (default): `Deserialize`/`Serialize` for the configuration of the enabled
//!   compartment kinds, with durations such as `"250ms"`.
//! - `tower`: the tower layer, `bulkhead::tower` (the `bulkhead-tower` crate).
//! - `http` (implies `tower`): `HttpBulkheadLayer`, rejections as
//!   `503 Service Unavailable` with `Retry-After`.
//! - `grpc` (implies `tower`): `GrpcBulkheadLayer`, rejections as gRPC status
//!   `RESOURCE_EXHAUSTED`.
//! - `tonic` (implies `grpc`): `tonic_status`, a rejection as a `tonic::Status`.
//! - `runtime`: `bulkhead::runtime` (the `bulkhead-runtime` crate), compartments that
//!   own a dedicated multi-thread tokio runtime; with `tower`, also
//!   `bulkhead::tower::RuntimeLayer`, which runs each call on one.
//! - `registry`: `bulkhead::registry` (the `bulkhead-registry` crate): layered
//!   configuration (defaults, TOML/YAML files, `BULKHEAD_*` variables) and the registry
//!   of compartment kinds; with `semaphore`, the `semaphore` kind is registered.
//! - `watch` (implies `registry`): `Registry::watch`, reload when the files change.
//! - `metrics`: `bulkhead::metrics` (the `bulkhead-metrics` crate): an observer
//!   recording waits and hold times, stats published at scrape time, the health
//!   monitor and its `/health` report.
//! - `prometheus` (implies `metrics`): `bulkhead::metrics::prometheus`, a Prometheus
//!   recorder whose duration histograms have buckets, and scrape-time rendering.
//! - `otlp`: `bulkhead::otlp` (the `bulkhead-otlp` crate): spans and instruments per
//!   guarded call, and `init`, the OTLP pipeline over gRPC.
//! - `otlp-http`: the same pipeline over HTTP/protobuf (with `otlp`, both transports).
//! - `deadpool`: `bulkhead::deadpool` (the `bulkhead-deadpool` crate), a compartment
//!   over any deadpool managed pool: checkouts wait as configured, pool status beside
//!   the compartment's stats.
//! - `bb8`: `bulkhead::bb8` (the `bulkhead-bb8` crate), the same over any bb8 pool.
//! - `postgres` (with `deadpool` and/or `bb8`): `bulkhead::deadpool::postgres` and
//!   `bulkhead::bb8::postgres`, read and write pools of PostgreSQL connections
//!   (tokio-postgres, no TLS) as a `DatabaseBulkhead`; with `registry`, the registry
//!   kinds `postgres` (over deadpool) and `bb8-postgres` (over bb8).
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(inline)]
pub use bulkhead_core::*;

#[cfg(feature = "semaphore")]
#[doc(inline)]
pub use bulkhead_semaphore::{
    OwnedSemaphorePermit, SemaphoreBuilder, SemaphoreBulkhead, SemaphoreConfig, SemaphorePermit,
};

/// Semaphore compartments: bound how many calls run at once against one downstream.
///
/// The `bulkhead-semaphore` crate; see [`SemaphoreBulkhead`].
#[cfg(feature = "semaphore")]
pub mod semaphore {
    #[doc(inline)]
    pub use bulkhead_semaphore::*;
}

/// Any compartment as a tower layer, in front of axum, tonic or hyper services.
///
/// The `bulkhead-tower` crate: [`BulkheadLayer`](tower::BulkheadLayer) for any
/// service, `HttpBulkheadLayer` (feature `http`) and `GrpcBulkheadLayer` (feature
/// `grpc`) for servers that answer rejections with a response.
#[cfg(feature = "tower")]
pub mod tower {
    #[doc(inline)]
    pub use bulkhead_tower::*;
}

/// Compartments that own a dedicated tokio runtime, for CPU-heavy or untrusted work.
///
/// The `bulkhead-runtime` crate; see [`RuntimeBulkhead`](runtime::RuntimeBulkhead).
#[cfg(feature = "runtime")]
pub mod runtime {
    #[doc(inline)]
    pub use bulkhead_runtime::*;
}

/// Named compartments from a layered configuration, built by a plugin per kind.
///
/// The `bulkhead-registry` crate: [`Registry`](registry::Registry) reads built-in
/// defaults, TOML/YAML files and `BULKHEAD_*` environment variables, validates them as a
/// whole, builds every compartment, and reloads them live.
#[cfg(feature = "registry")]
pub mod registry {
    #[doc(inline)]
    pub use bulkhead_registry::*;
}

/// Compartments in the `metrics` facade (Prometheus names) and the health monitor.
///
/// The `bulkhead-metrics` crate; see [`BulkheadMetrics`](metrics::BulkheadMetrics) and
/// [`HealthMonitor`](metrics::HealthMonitor).
#[cfg(feature = "metrics")]
pub mod metrics {
    #[doc(inline)]
    pub use bulkhead_metrics::*;
}

/// Compartments in OpenTelemetry: a span per guarded call, instruments, OTLP export.
///
/// The `bulkhead-otlp` crate; see [`OtelObserver`](otlp::OtelObserver).
#[cfg(any(feature = "otlp", feature = "otlp-http"))]
pub mod otlp {
    #[doc(inline)]
    pub use bulkhead_otlp::*;
}

/// Connection-pool compartments over deadpool; with `postgres`, PostgreSQL read and
/// write pools.
///
/// The `bulkhead-deadpool` crate; see [`DeadpoolBulkhead`](deadpool::DeadpoolBulkhead).
#[cfg(feature = "deadpool")]
pub mod deadpool {
    #[doc(inline)]
    pub use bulkhead_deadpool::*;
}

/// Connection-pool compartments over bb8; with `postgres`, PostgreSQL read and write
/// pools.
///
/// The `bulkhead-bb8` crate; see [`Bb8Bulkhead`](bb8::Bb8Bulkhead).
#[cfg(feature = "bb8")]
pub mod bb8 {
    #[doc(inline)]
    pub use bulkhead_bb8::*;
}

/// The README's code blocks, compiled and run as doc tests so the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
