//! Rejections as HTTP responses.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use ::http::header::{HeaderMap, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use ::http::{Response, StatusCode};
use bulkhead_core::{Admission, CallError, Rejected};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::{Bulkhead, ResponseFuture};

/// Response header naming the compartment that refused the request: `x-bulkhead`.
pub const BULKHEAD_HEADER: &str = "x-bulkhead";

/// Response header giving the reason of a refusal (`full`, `queue_full`, `timeout`,
/// `closed`): `x-bulkhead-reason`.
pub const REASON_HEADER: &str = "x-bulkhead-reason";

/// The `503 Service Unavailable` answer to a refused request.
///
/// - `Retry-After`, in whole seconds rounded up (at least 1), when the compartment
///   suggests a retry delay ([`Rejected::retry_after`]);
/// - `x-bulkhead`: the compartment's name (percent-encoded where it is not printable
///   ASCII); `x-bulkhead-reason`: [`RejectReason::as_str`](crate::RejectReason::as_str);
/// - a one-line `text/plain` body naming the compartment and the reason.
///
/// The body type only needs `From<String>`, which `axum::body::Body`, `String` and
/// `http_body_util::Full<Bytes>` implement.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use bulkhead_tower::{rejection_response, RejectReason, Rejected};
///
/// let rejected = Rejected::new(Arc::from("reports"), RejectReason::Full)
///     .with_retry_after(Some(Duration::from_millis(1500)));
/// let response = rejection_response::<String>(&rejected);
/// assert_eq!(response.status(), 503);
/// assert_eq!(response.headers()["retry-after"], "2");
/// assert_eq!(response.headers()["x-bulkhead"], "reports");
/// assert_eq!(response.headers()["x-bulkhead-reason"], "full");
/// assert_eq!(response.body(), "bulkhead `reports` rejected the call: no free slot\n");
/// ```
pub fn rejection_response<B: From<String>>(rejected: &Rejected) -> Response<B> {
    let mut response = Response::new(B::from(format!("{rejected}\n")));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if let Some(after) = rejected.retry_after() {
        headers.insert(RETRY_AFTER, HeaderValue::from(retry_after_secs(after)));
    }
    insert_identity(headers, rejected);
    response
}

/// Whole seconds, rounded up, at least one: `Retry-After` cannot say "now".
fn retry_after_secs(after: Duration) -> u64 {
    let secs = after.as_secs() + u64::from(after.subsec_nanos() != 0);
    secs.max(1)
}

/// Adds `x-bulkhead` and `x-bulkhead-reason`.
pub(crate) fn insert_identity(headers: &mut HeaderMap, rejected: &Rejected) {
    if let Ok(name) = HeaderValue::try_from(&*percent_encode(rejected.compartment())) {
        headers.insert(BULKHEAD_HEADER, name);
    }
    headers.insert(
        REASON_HEADER,
        HeaderValue::from_static(rejected.reason().as_str()),
    );
}

/// Percent-encodes `%` and every byte outside printable ASCII (space included as
/// printable), as gRPC's `grpc-message` requires; leaves everything else as is.
pub(crate) fn percent_encode(text: &str) -> Cow<'_, str> {
    fn keep(b: u8) -> bool {
        (0x20..=0x7e).contains(&b) && b != b'%'
    }
    if text.bytes().all(keep) {
        return Cow::Borrowed(text);
    }
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut encoded = String::with_capacity(text.len() + 16);
    for b in text.bytes() {
        if keep(b) {
            encoded.push(char::from(b));
        } else {
            encoded.push('%');
            encoded.push(char::from(HEX[usize::from(b >> 4)]));
            encoded.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    Cow::Owned(encoded)
}

/// Like [`BulkheadLayer`](crate::BulkheadLayer), for HTTP services: refused requests
/// are answered with [`rejection_response`] (`503 Service Unavailable`).
///
/// The layered service keeps the inner service's response and error types, so an axum
/// route (whose error is `Infallible`) needs no `HandleErrorLayer`.
///
/// ```
/// use axum::{body::Body, routing::get, Router};
/// use bulkhead_semaphore::{SemaphoreBulkhead, SemaphoreConfig};
/// use bulkhead_tower::HttpBulkheadLayer;
/// use http::Request;
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let reports = SemaphoreBulkhead::new("reports", SemaphoreConfig::new(4))?;
/// let app: Router = Router::new().route(
///     "/reports",
///     get(|| async { "report" }).layer(HttpBulkheadLayer::new(reports.clone())),
/// );
///
/// reports.close();
/// let response = app.oneshot(Request::get("/reports").body(Body::empty())?).await?;
/// assert_eq!(response.status(), 503);
/// assert_eq!(response.headers()["x-bulkhead-reason"], "closed");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct HttpBulkheadLayer<C> {
    compartment: C,
}

impl<C> HttpBulkheadLayer<C> {
    /// A layer admitting requests through `compartment`.
    pub fn new(compartment: C) -> Self {
        HttpBulkheadLayer { compartment }
    }

    /// The compartment requests go through.
    pub fn compartment(&self) -> &C {
        &self.compartment
    }
}

impl<S, C: Clone> Layer<S> for HttpBulkheadLayer<C> {
    type Service = HttpBulkhead<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpBulkhead::new(inner, self.compartment.clone())
    }
}

/// An HTTP service whose requests each need a slot in a compartment; refused requests
/// are answered with `503 Service Unavailable`.
///
/// Built by [`HttpBulkheadLayer`]. Admits requests like [`Bulkhead`], and answers a
/// refusal with [`rejection_response`] instead of an error; the inner service's errors
/// pass through unchanged.
#[derive(Clone, Debug)]
pub struct HttpBulkhead<S, C> {
    inner: Bulkhead<S, C>,
}

impl<S, C> HttpBulkhead<S, C> {
    /// Wraps `inner` so that each request needs a slot in `compartment`.
    pub fn new(inner: S, compartment: C) -> Self {
        HttpBulkhead {
            inner: Bulkhead::new(inner, compartment),
        }
    }

    /// The compartment requests go through.
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

impl<S, C, Req, B> Service<Req> for HttpBulkhead<S, C>
where
    S: Service<Req, Response = Response<B>> + Clone,
    C: Admission,
    B: From<String>,
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
        HttpResponseFuture::new(self.inner.call(request), rejection_response::<B>)
    }
}

pin_project! {
    /// The response future of [`HttpBulkhead`] and of `GrpcBulkhead`: answers a
    /// refusal with a response and passes the inner service's error through.
    #[must_use = "futures do nothing unless polled"]
    pub struct HttpResponseFuture<F, B> {
        #[pin]
        inner: F,
        respond: fn(&Rejected) -> Response<B>,
    }
}

impl<F, B> HttpResponseFuture<F, B> {
    pub(crate) fn new(inner: F, respond: fn(&Rejected) -> Response<B>) -> Self {
        HttpResponseFuture { inner, respond }
    }
}

impl<F, B, E> Future for HttpResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, CallError<E>>>,
{
    type Output = Result<Response<B>, E>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        Poll::Ready(match ready!(this.inner.poll(cx)) {
            Ok(response) => Ok(response),
            Err(CallError::Rejected(rejected)) => Ok((this.respond)(&rejected)),
            Err(CallError::Backend(error)) => Err(error),
        })
    }
}

impl<F: fmt::Debug, B> fmt::Debug for HttpResponseFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponseFuture")
            .field("inner", &self.inner)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds_and_never_says_zero() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(30)), 30);
    }

    #[test]
    fn percent_encoding_keeps_printable_ascii_and_escapes_the_rest() {
        assert!(matches!(percent_encode("no free slot"), Cow::Borrowed(_)));
        assert_eq!(percent_encode("100% busy"), "100%25 busy");
        assert_eq!(percent_encode("caf\u{e9}\n"), "caf%C3%A9%0A");
    }
}
