//! The response future of [`Bulkhead`](crate::Bulkhead).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bulkhead_core::{AdmitFuture, CallError, Outcome, Permit, Rejected};
use pin_project_lite::pin_project;
use tower_service::Service;

pin_project! {
    /// The response future of [`Bulkhead`](crate::Bulkhead).
    ///
    /// Holds the request's slot until the inner future completes; dropping it releases
    /// the slot (reported as [`Outcome::Cancelled`]) or gives up its place in the wait
    /// queue.
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<S, Req, P>
    where
        S: Service<Req>,
    {
        #[pin]
        state: State<S, Req, P>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, Req, P>
    where
        S: Service<Req>,
    {
        // Waiting for a slot, with the ready service and the request to call it with.
        Waiting {
            admit: AdmitFuture<P>,
            call: Option<(S, Req)>,
        },
        // Admitted: the inner service was called. The permit is released as soon as
        // the inner future completes.
        Called {
            #[pin]
            future: S::Future,
            permit: Option<P>,
        },
        // Refused without waiting.
        Rejected {
            rejected: Option<Rejected>,
        },
    }
}

impl<S, Req, P> ResponseFuture<S, Req, P>
where
    S: Service<Req>,
{
    #[inline]
    pub(crate) fn called(future: S::Future, permit: P) -> Self {
        ResponseFuture {
            state: State::Called {
                future,
                permit: Some(permit),
            },
        }
    }

    #[inline]
    pub(crate) fn rejected(rejected: Rejected) -> Self {
        ResponseFuture {
            state: State::Rejected {
                rejected: Some(rejected),
            },
        }
    }

    pub(crate) fn waiting(admit: AdmitFuture<P>, service: S, request: Req) -> Self {
        ResponseFuture {
            state: State::Waiting {
                admit,
                call: Some((service, request)),
            },
        }
    }
}

impl<S, Req, P> Future for ResponseFuture<S, Req, P>
where
    S: Service<Req>,
    P: Permit,
{
    type Output = Result<S::Response, CallError<S::Error>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Called { future, permit } => {
                    let result = ready!(future.poll(cx));
                    if let Some(mut permit) = permit.take() {
                        permit.set_outcome(if result.is_ok() {
                            Outcome::Ok
                        } else {
                            Outcome::Error
                        });
                    }
                    return Poll::Ready(result.map_err(CallError::Backend));
                }
                StateProj::Waiting { admit, call } => {
                    let admitted = ready!(Pin::new(admit).poll(cx));
                    let (mut service, request) =
                        call.take().expect("ResponseFuture polled after completion");
                    let mut permit = admitted.map_err(CallError::Rejected)?;
                    permit.set_outcome(Outcome::Cancelled);
                    let future = service.call(request);
                    state.set(State::Called {
                        future,
                        permit: Some(permit),
                    });
                }
                StateProj::Rejected { rejected } => {
                    let rejected = rejected
                        .take()
                        .expect("ResponseFuture polled after completion");
                    return Poll::Ready(Err(CallError::Rejected(rejected)));
                }
            }
        }
    }
}

impl<S, Req, P> fmt::Debug for ResponseFuture<S, Req, P>
where
    S: Service<Req>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Waiting { .. } => "waiting",
            State::Called {
                permit: Some(_), ..
            } => "called",
            State::Called { permit: None, .. } => "done",
            State::Rejected { .. } => "rejected",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}
