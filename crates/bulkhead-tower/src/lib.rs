//! Put any bulkhead compartment in front of a [tower] service: axum routes, tonic
//! services, hyper handlers.
//!
//! [`BulkheadLayer`] wraps a service so that every request needs a slot in a
//! compartment: any kind that implements [`Admission`] (a semaphore, a dedicated
//! runtime, a connection pool). A slow downstream can then hold at most its own
//! compartment's slots, and requests beyond them are refused at once (or after the
//! compartment's bounded wait) instead of piling up.
//!
//! - Admission happens in `call`, not in `poll_ready`: a full compartment rejects
//!   requests, it never makes the service un-ready, so it cannot stall a `Buffer` or a
//!   balancer in front of it. `poll_ready` forwards the inner service's readiness.
//! - The slot is held until the inner response future completes and released at once
//!   after it; dropping the response future releases it too, counted as cancelled.
//! - Errors are typed: [`CallError::Rejected`] with the compartment's [`Rejected`]
//!   (name, [`RejectReason`], retry hint), or [`CallError::Backend`] with the inner
//!   service's own error.
//! - With a free slot, a call costs what the compartment's admission costs: no
//!   allocation, no clock read, no clone of the inner service.
//!
//! HTTP servers usually want a response rather than an error: `HttpBulkheadLayer`
//! (feature `http`) answers refused requests with `503 Service Unavailable` and a
//! `Retry-After` header, and keeps the inner service's error type, so an axum route
//! stays `Infallible`. `GrpcBulkheadLayer` (feature `grpc`) answers with gRPC status
//! `RESOURCE_EXHAUSTED`.
//!
//! # Example
//!
//! ```
//! use bulkhead_semaphore::{SemaphoreBulkhead, SemaphoreConfig};
//! use bulkhead_tower::{BulkheadLayer, CallError, RejectReason};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let reports = SemaphoreBulkhead::new("reports", SemaphoreConfig::new(1))?;
//! let service = ServiceBuilder::new()
//!     .layer(BulkheadLayer::new(reports.clone()))
//!     .service(service_fn(|n: u32| async move { Ok::<_, std::io::Error>(n * 2) }));
//!
//! // A slot is free: the request runs.
//! assert_eq!(service.clone().oneshot(21).await?, 42);
//!
//! // Hold the only slot: the next request is refused without reaching the service.
//! let held = reports.try_acquire()?;
//! match service.clone().oneshot(1).await {
//!     Err(CallError::Rejected(rejected)) => {
//!         assert_eq!(rejected.compartment(), "reports");
//!         assert_eq!(rejected.reason(), RejectReason::Full);
//!     }
//!     other => panic!("expected a rejection, got {other:?}"),
//! }
//! drop(held);
//!
//! let stats = reports.stats();
//! assert_eq!((stats.admitted, stats.completed, stats.rejected.full), (2, 2, 1));
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! None is on by default.
//!
//! - `http`: `HttpBulkheadLayer`, which turns rejections into `503 Service
//!   Unavailable` responses, and `rejection_response` to build that response
//!   yourself.
//! - `grpc` (implies `http`): `GrpcBulkheadLayer` and `grpc_rejection_response`, for
//!   gRPC's `RESOURCE_EXHAUSTED` status with a retry pushback hint.
//! - `tonic` (implies `grpc`): `tonic_status`, a rejection as a `tonic::Status`.
//! - `runtime`: `RuntimeLayer`, which runs each call on a `bulkhead-runtime`
//!   compartment's dedicated runtime (the inner future is spawned there; dropping the
//!   response future aborts it), with errors as `bulkhead_runtime::ExecuteError`.
//!
//! [tower]: https://docs.rs/tower
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::error::Error;

mod future;
mod layer;
mod service;

#[cfg(feature = "grpc")]
mod grpc;
#[cfg(feature = "http")]
mod http;
#[cfg(feature = "runtime")]
mod runtime;

pub use bulkhead_core::{
    Admission, CallError, Compartment, CompartmentInfo, Outcome, Permit, RejectReason, Rejected,
    Stats,
};
pub use future::ResponseFuture;
pub use layer::BulkheadLayer;
pub use service::Bulkhead;

#[cfg(feature = "runtime")]
pub use bulkhead_runtime::ExecuteError;
#[cfg(feature = "tonic")]
pub use grpc::tonic_status;
#[cfg(feature = "grpc")]
pub use grpc::{grpc_rejection_response, GrpcBulkhead, GrpcBulkheadLayer, RETRY_PUSHBACK_HEADER};
#[cfg(feature = "http")]
pub use http::{
    rejection_response, HttpBulkhead, HttpBulkheadLayer, HttpResponseFuture, BULKHEAD_HEADER,
    REASON_HEADER,
};
#[cfg(feature = "runtime")]
pub use runtime::{RuntimeLayer, RuntimeResponseFuture, RuntimeService};

/// Finds a [`Rejected`] in an error or in its chain of [`source`](Error::source)s.
///
/// For stacks that box their errors (`tower::BoxError`): tells a request the bulkhead
/// refused from one the backend failed.
///
/// ```
/// use std::sync::Arc;
/// use bulkhead_tower::{is_rejection, CallError, RejectReason, Rejected};
///
/// let rejected = Rejected::new(Arc::from("reports"), RejectReason::Full);
/// let error: Box<dyn std::error::Error + Send + Sync> =
///     Box::new(CallError::<std::io::Error>::Rejected(rejected));
/// assert_eq!(is_rejection(&*error).map(Rejected::compartment), Some("reports"));
///
/// let backend = std::io::Error::other("connection reset");
/// assert!(is_rejection(&backend).is_none());
/// ```
pub fn is_rejection<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a Rejected> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(rejected) = error.downcast_ref::<Rejected>() {
            return Some(rejected);
        }
        current = error.source();
    }
    None
}
