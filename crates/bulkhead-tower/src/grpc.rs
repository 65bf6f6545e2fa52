//! Rejections as gRPC `RESOURCE_EXHAUSTED` answers.

use std::task::{Context, Poll};
use std::time::Duration;

use ::http::header::{HeaderValue, CONTENT_TYPE};
use ::http::Response;
use bulkhead_core::{Admission, Rejected};
use tower_layer::Layer;
use tower_service::Service;

use crate::http::{insert_identity, percent_encode};
use crate::{Bulkhead, HttpResponseFuture, ResponseFuture};

/// gRPC's `RESOURCE_EXHAUSTED` status code.
const RESOURCE_EXHAUSTED: &str = "8";

/// Response metadata carrying the retry hint in milliseconds, from gRPC's retry design:
/// `grpc-retry-pushback-ms`.
pub const RETRY_PUSHBACK_HEADER: &str = "grpc-retry-pushback-ms";

/// The gRPC answer to a refused call: a trailers-only response with status 8
/// (`RESOURCE_EXHAUSTED`).
///
/// - HTTP status 200, `content-type: application/grpc`, an empty body
///   (`B::default()`);
/// - `grpc-status: 8` and `grpc-message` with the rejection's message,
///   percent-encoded as the gRPC spec requires (`%` and bytes outside printable ASCII;
///   spaces stay as they are);
/// - `grpc-retry-pushback-ms` when the compartment suggests a retry delay
///   ([`Rejected::retry_after`]), in milliseconds rounded up;
/// - `x-bulkhead` and `x-bulkhead-reason`, as in
///   [`rejection_response`](crate::rejection_response).
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use bulkhead_tower::{grpc_rejection_response, RejectReason, Rejected};
///
/// let rejected = Rejected::new(Arc::from("payments"), RejectReason::QueueFull)
///     .with_retry_after(Some(Duration::from_millis(250)));
/// let response = grpc_rejection_response::<String>(&rejected);
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.headers()["grpc-status"], "8");
/// assert_eq!(response.headers()["grpc-retry-pushback-ms"], "250");
/// assert_eq!(
///     response.headers()["grpc-message"],
///     "bulkhead `payments` rejected the call: wait queue is full"
/// );
/// ```
pub fn grpc_rejection_response<B: Default>(rejected: &Rejected) -> Response<B> {
    let mut response = Response::new(B::default());
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert("grpc-status", HeaderValue::from_static(RESOURCE_EXHAUSTED));
    if let Ok(message) = HeaderValue::try_from(&*percent_encode(&rejected.to_string())) {
        headers.insert("grpc-message", message);
    }
    if let Some(after) = rejected.retry_after() {
        headers.insert(RETRY_PUSHBACK_HEADER, HeaderValue::from(pushback_ms(after)));
    }
    insert_identity(headers, rejected);
    response
}

/// Milliseconds, rounded up.
fn pushback_ms(after: Duration) -> u64 {
    let ms = after.as_nanos().div_ceil(1_000_000);
    u64::try_from(ms).unwrap_or(u64::MAX)
}

/// The rejection as a [`tonic::Status`]: code `ResourceExhausted`, the rejection's
/// message, and the metadata of [`grpc_rejection_response`] (`grpc-retry-pushback-ms`,
/// `x-bulkhead`, `x-bulkhead-reason`).
///
/// For tonic handlers that guard their own calls with a compartment:
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use bulkhead_tower::{tonic_status, RejectReason, Rejected};
///
/// let rejected = Rejected::new(Arc::from("payments"), RejectReason::Full)
///     .with_retry_after(Some(Duration::from_secs(1)));
/// let status = tonic_status(&rejected);
/// assert_eq!(status.code(), tonic::Code::ResourceExhausted);
/// assert_eq!(status.metadata().get("grpc-retry-pushback-ms").unwrap(), "1000");
/// assert_eq!(status.metadata().get("x-bulkhead").unwrap(), "payments");
/// ```
#[cfg(feature = "tonic")]
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
pub fn tonic_status(rejected: &Rejected) -> tonic::Status {
    use tonic::metadata::{MetadataMap, MetadataValue};

    let mut metadata = MetadataMap::new();
    if let Some(after) = rejected.retry_after() {
        metadata.insert(
            RETRY_PUSHBACK_HEADER,
            MetadataValue::from(pushback_ms(after)),
        );
    }
    if let Ok(name) = MetadataValue::try_from(&*percent_encode(rejected.compartment())) {
        metadata.insert(crate::BULKHEAD_HEADER, name);
    }
    metadata.insert(
        crate::REASON_HEADER,
        MetadataValue::from_static(rejected.reason().as_str()),
    );
    tonic::Status::with_metadata(
        tonic::Code::ResourceExhausted,
        rejected.to_string(),
        metadata,
    )
}

/// Like [`BulkheadLayer`](crate::BulkheadLayer), for gRPC services: refused calls are
/// answered with [`grpc_rejection_response`] (status `RESOURCE_EXHAUSTED`).
///
/// The layered service keeps the inner service's response and error types, so it fits
/// in front of a tonic service or a whole tonic router.
#[derive(Clone, Debug)]
pub struct GrpcBulkheadLayer<C> {
    compartment: C,
}

impl<C> GrpcBulkheadLayer<C> {
    /// A layer admitting calls through `compartment`.
    pub fn new(compartment: C) -> Self {
        GrpcBulkheadLayer { compartment }
    }

    /// The compartment calls go through.
    pub fn compartment(&self) -> &C {
        &self.compartment
    }
}

impl<S, C: Clone> Layer<S> for GrpcBulkheadLayer<C> {
    type Service = GrpcBulkhead<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcBulkhead::new(inner, self.compartment.clone())
    }
}

/// A gRPC service whose calls each need a slot in a compartment; refused calls are
/// answered with status `RESOURCE_EXHAUSTED`.
///
/// Built by [`GrpcBulkheadLayer`]. Admits calls like [`Bulkhead`]; the inner service's
/// errors pass through unchanged.
#[derive(Clone, Debug)]
pub struct GrpcBulkhead<S, C> {
    inner: Bulkhead<S, C>,
}

impl<S, C> GrpcBulkhead<S, C> {
    /// Wraps `inner` so that each call needs a slot in `compartment`.
    pub fn new(inner: S, compartment: C) -> Self {
        GrpcBulkhead {
            inner: Bulkhead::new(inner, compartment),
        }
    }

    /// The compartment calls go through.
    pub fn compartment(&self) -> &C {
        self.inner.compartment()
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        self.inner.get_ref()
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        self.inner.get_mut()
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner.into_inner()
    }
}

impl<S, C, Req, B> Service<Req> for GrpcBulkhead<S, C>
where
    S: Service<Req, Response = Response<B>> + Clone,
    C: Admission,
    B: Default,
{
    type Response = Response<B>;
    type Error = S::Error;
    type Future = HttpResponseFuture<ResponseFuture<S, Req, C::Permit>, B>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.inner.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, request: Req) -> Self::Future {
        HttpResponseFuture::new(self.inner.call(request), grpc_rejection_response::<B>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushback_rounds_up_to_whole_milliseconds() {
        assert_eq!(pushback_ms(Duration::ZERO), 0);
        assert_eq!(pushback_ms(Duration::from_micros(1)), 1);
        assert_eq!(pushback_ms(Duration::from_millis(250)), 250);
        assert_eq!(pushback_ms(Duration::from_micros(250_001)), 251);
    }
}
