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

/// The README's code blocks, compiled and run as doc tests so the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
