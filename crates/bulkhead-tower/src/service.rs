//! The service that admits each request through a compartment.

use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bulkhead_core::{Admission, CallError, Outcome, Permit};
use tower_service::Service;

use crate::future::ResponseFuture;

/// A service whose requests each need a slot in a compartment.
///
/// Built by [`BulkheadLayer`](crate::BulkheadLayer) or [`Bulkhead::new`].
///
/// Admission happens in [`call`](Service::call), never in
/// [`poll_ready`](Service::poll_ready), which only forwards the inner service's
/// readiness: a full compartment rejects requests instead of applying back-pressure, so
/// it never stalls a `Buffer` or a load balancer in front of it.
///
/// - A free slot is taken at once and the inner service is called at once. The slot is
///   held until the inner response future completes, then released.
/// - A refusal that is known at once (the compartment is full and does not let callers
///   wait, or it is closed) resolves the response future to
///   [`CallError::Rejected`] without calling the inner service.
/// - When the compartment lets callers wait, the ready inner service is taken out (and
///   replaced by a clone) and called once a slot is granted.
///
/// The slot's release is reported as [`Outcome::Ok`] or [`Outcome::Error`] after the
/// inner future's result, [`Outcome::Cancelled`] when the response future is dropped
/// first, and [`Outcome::Panic`] when the inner service panics.
#[derive(Clone, Debug)]
pub struct Bulkhead<S, C> {
    pub(crate) inner: S,
    pub(crate) compartment: C,
}

impl<S, C> Bulkhead<S, C> {
    /// Wraps `inner` so that each request needs a slot in `compartment`.
    pub fn new(inner: S, compartment: C) -> Self {
        Bulkhead { inner, compartment }
    }

    /// The compartment requests go through.
    pub fn compartment(&self) -> &C {
        &self.compartment
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, C, Req> Service<Req> for Bulkhead<S, C>
where
    S: Service<Req> + Clone,
    C: Admission,
{
    type Response = S::Response;
    type Error = CallError<S::Error>;
    type Future = ResponseFuture<S, Req, C::Permit>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(CallError::Backend)
    }

    #[inline]
    fn call(&mut self, request: Req) -> Self::Future {
        let mut admit = self.compartment.admit();
        if !admit.is_ready() {
            // The inner service was made ready for this request: take it along and
            // leave a clone, which will be made ready before the next call.
            let clone = self.inner.clone();
            let inner = mem::replace(&mut self.inner, clone);
            return ResponseFuture::waiting(admit, inner, request);
        }
        // An admission that is already decided does not look at the context.
        let mut cx = Context::from_waker(Waker::noop());
        match Pin::new(&mut admit).poll(&mut cx) {
            Poll::Ready(Ok(mut permit)) => {
                permit.set_outcome(Outcome::Cancelled);
                let future = self.inner.call(request);
                ResponseFuture::called(future, permit)
            }
            Poll::Ready(Err(rejected)) => ResponseFuture::rejected(rejected),
            Poll::Pending => unreachable!("a ready admission is never pending"),
        }
    }
}
