//! What every compartment kind has in common.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::{Outcome, Rejected, Stats};

/// The identity of a compartment: its name and its kind.
///
/// Cheap to clone: the name is shared.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CompartmentInfo {
    name: Arc<str>,
    kind: &'static str,
}

impl CompartmentInfo {
    /// A compartment called `name` of kind `kind` (`"semaphore"`, `"runtime"`, ...).
    pub fn new(name: impl Into<Arc<str>>, kind: &'static str) -> Self {
        CompartmentInfo {
            name: name.into(),
            kind,
        }
    }

    /// The compartment's name, unique within a process by convention.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The shared name, for errors and events that outlive a borrow.
    pub fn name_arc(&self) -> Arc<str> {
        Arc::clone(&self.name)
    }

    /// The compartment's kind, such as `"semaphore"`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }
}

impl fmt::Debug for CompartmentInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.kind, self.name)
    }
}

/// A named, bounded share of some resource.
///
/// Every kind (semaphore, runtime, connection pool) reports who it is, a [`Stats`]
/// snapshot, and can be closed. Handles are expected to be cheap to clone and to share
/// one compartment.
pub trait Compartment: Send + Sync {
    /// The compartment's name and kind.
    fn info(&self) -> &CompartmentInfo;

    /// The compartment's name.
    fn name(&self) -> &str {
        self.info().name()
    }

    /// The compartment's kind, such as `"semaphore"`.
    fn kind(&self) -> &'static str {
        self.info().kind()
    }

    /// A snapshot of capacity, occupancy and counters.
    fn stats(&self) -> Stats;

    /// Stops admitting: new callers and callers still waiting are rejected with
    /// [`RejectReason::Closed`](crate::RejectReason::Closed). Work already admitted runs
    /// to completion.
    fn close(&self);

    /// Whether [`close`](Compartment::close) has been called.
    fn is_closed(&self) -> bool;

    /// Reports the figures only this kind has, beyond [`Stats`]: calls `report` once
    /// per figure with its metric name (one of
    /// [`names::KIND_METRICS`](crate::names::KIND_METRICS)) and its current value.
    ///
    /// A runtime reports its busy ratio and queue depth, a connection pool its size
    /// and idle connections. Telemetry reads them when it publishes (at scrape time or
    /// on an interval), never on a call's path. Kinds without such figures keep the
    /// default, which reports nothing.
    fn report_figures(&self, report: &mut dyn FnMut(&'static str, f64)) {
        let _ = report;
    }
}

/// An RAII slot in a compartment: dropping it releases the slot.
///
/// The permit reports how the guarded work ended when it is dropped. Unless told
/// otherwise with [`set_outcome`](Permit::set_outcome), a permit dropped normally counts
/// as [`Outcome::Ok`] and one dropped while its thread is panicking as
/// [`Outcome::Panic`]. Wrappers that drive the guarded future themselves (such as
/// `execute` or the tower layer) mark the permit [`Outcome::Cancelled`] before polling
/// and record the real outcome when the work ends, so a dropped call counts as cancelled.
pub trait Permit: Send + 'static {
    /// Records how the guarded work ended; the last call wins.
    fn set_outcome(&mut self, outcome: Outcome);
}

/// A compartment that admits callers one slot at a time.
///
/// Implemented by every kind whose admission yields a [`Permit`]. Generic integrations
/// such as the tower layer use only this trait.
pub trait Admission: Compartment + Clone + 'static {
    /// The slot handed to an admitted caller.
    type Permit: Permit;

    /// Asks for a slot without waiting.
    ///
    /// Fails with [`RejectReason::Full`](crate::RejectReason::Full) when no slot is free,
    /// whatever the compartment's wait settings.
    fn try_admit(&self) -> Result<Self::Permit, Rejected>;

    /// Asks for a slot, waiting as the compartment's configuration allows.
    ///
    /// The returned future resolves at once (without allocating) when the answer is
    /// known immediately; otherwise it waits, bounded by the compartment's maximum wait
    /// and wait queue. Dropping it while it waits gives its place up.
    fn admit(&self) -> AdmitFuture<Self::Permit>;
}

/// The future returned by [`Admission::admit`].
///
/// It is either already resolved (the fast path, no allocation) or a boxed wait.
#[must_use = "futures do nothing unless polled"]
pub struct AdmitFuture<P> {
    state: AdmitState<P>,
}

type WaitFuture<P> = Pin<Box<dyn Future<Output = Result<P, Rejected>> + Send + 'static>>;

enum AdmitState<P> {
    Ready(Option<Result<P, Rejected>>),
    Waiting(WaitFuture<P>),
}

impl<P> AdmitFuture<P> {
    /// A future that resolves at once with `result`.
    pub fn ready(result: Result<P, Rejected>) -> Self {
        AdmitFuture {
            state: AdmitState::Ready(Some(result)),
        }
    }

    /// A future that waits for `wait` to resolve.
    pub fn waiting<F>(wait: F) -> Self
    where
        F: Future<Output = Result<P, Rejected>> + Send + 'static,
    {
        AdmitFuture {
            state: AdmitState::Waiting(Box::pin(wait)),
        }
    }

    /// Whether the answer was known without waiting.
    pub fn is_ready(&self) -> bool {
        matches!(self.state, AdmitState::Ready(_))
    }
}

// The ready variant is never pinned in place and the waiting variant is boxed.
impl<P> Unpin for AdmitFuture<P> {}

impl<P> Future for AdmitFuture<P> {
    type Output = Result<P, Rejected>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().state {
            AdmitState::Ready(result) => {
                Poll::Ready(result.take().expect("AdmitFuture polled after completion"))
            }
            AdmitState::Waiting(wait) => wait.as_mut().poll(cx),
        }
    }
}

impl<P> fmt::Debug for AdmitFuture<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            AdmitState::Ready(_) => "ready",
            AdmitState::Waiting(_) => "waiting",
        };
        f.debug_struct("AdmitFuture")
            .field("state", &state)
            .finish()
    }
}
