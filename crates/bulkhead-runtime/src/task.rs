//! Work submitted to a compartment: the wrapper that runs it on the runtime, the count
//! of work in flight, and the handle the caller awaits.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use bulkhead_core::{Outcome, Permit};
use bulkhead_semaphore::OwnedSemaphorePermit;
use pin_project_lite::pin_project;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::ExecuteError;

/// A queue slot of a [`RuntimeBulkhead`](crate::RuntimeBulkhead), taken through
/// [`Admission`](bulkhead_core::Admission) and not yet given to a task.
///
/// Hand it to [`spawn_admitted`](crate::RuntimeBulkhead::spawn_admitted) to run work in
/// it; the task then owns the slot and frees it when it ends. Dropping the permit frees
/// the slot at once.
#[must_use = "the slot is released as soon as the permit is dropped"]
pub struct RuntimePermit {
    pub(crate) slot: OwnedSemaphorePermit,
}

impl RuntimePermit {
    /// Records how the guarded work ended; the last call wins.
    pub fn set_outcome(&mut self, outcome: Outcome) {
        self.slot.set_outcome(outcome);
    }

    /// The name of the compartment the slot belongs to.
    pub fn compartment(&self) -> &str {
        self.slot.compartment()
    }
}

impl Permit for RuntimePermit {
    fn set_outcome(&mut self, outcome: Outcome) {
        RuntimePermit::set_outcome(self, outcome)
    }
}

impl fmt::Debug for RuntimePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimePermit")
            .field("compartment", &self.compartment())
            .finish()
    }
}

/// Counts work admitted and not yet ended (queued, running, or a blocking closure), so
/// that `idle` and `shutdown` can wait for it to drain.
#[derive(Default)]
pub(crate) struct InFlight {
    count: AtomicUsize,
    /// Tasks and threads waiting for the count to reach zero; the last task to end
    /// notifies only when there is one.
    watchers: AtomicUsize,
    notify: Notify,
    lock: Mutex<()>,
    drained: Condvar,
}

impl InFlight {
    pub(crate) fn enter(self: &Arc<Self>) -> InFlightToken {
        self.count.fetch_add(1, SeqCst);
        InFlightToken(Arc::clone(self))
    }

    pub(crate) fn count(&self) -> usize {
        self.count.load(SeqCst)
    }

    /// Resolves at a moment when nothing is in flight.
    pub(crate) async fn idle(&self) {
        loop {
            let mut notified = pin!(self.notify.notified());
            // Registered before the count is read, so a task ending in between wakes it.
            notified.as_mut().enable();
            let _watching = Watching::new(self);
            if self.count() == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Blocks the thread until nothing is in flight or `timeout` has passed; whether
    /// nothing is in flight.
    pub(crate) fn wait_idle_blocking(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let _watching = Watching::new(self);
        let mut guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if self.count() == 0 {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            guard = match self.drained.wait_timeout(guard, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    fn exit(&self) {
        if self.count.fetch_sub(1, SeqCst) == 1 && self.watchers.load(SeqCst) > 0 {
            self.notify.notify_waiters();
            let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
            self.drained.notify_all();
        }
    }
}

struct Watching<'a>(&'a InFlight);

impl<'a> Watching<'a> {
    fn new(in_flight: &'a InFlight) -> Self {
        in_flight.watchers.fetch_add(1, SeqCst);
        Watching(in_flight)
    }
}

impl Drop for Watching<'_> {
    fn drop(&mut self) {
        self.0.watchers.fetch_sub(1, SeqCst);
    }
}

/// One unit of work in flight; dropping it ends it.
pub(crate) struct InFlightToken(Arc<InFlight>);

impl Drop for InFlightToken {
    fn drop(&mut self) {
        self.0.exit();
    }
}

/// What a task hands back: its output, or the message of its panic.
pub(crate) type TaskResult<T> = Result<T, String>;

/// How an output counts in the compartment's stats.
pub(crate) type Classify<T> = fn(&T) -> Outcome;

pub(crate) fn always_ok<T>(_: &T) -> Outcome {
    Outcome::Ok
}

pub(crate) fn by_result<T, E>(output: &Result<T, E>) -> Outcome {
    match output {
        Ok(_) => Outcome::Ok,
        Err(_) => Outcome::Error,
    }
}

pin_project! {
    /// A future running in a queue slot on the compartment's runtime.
    ///
    /// Catches a panic of the future so that the slot is counted as
    /// [`Outcome::Panic`] and the message reaches the caller; frees the slot as soon as
    /// the future is done. Dropped unfinished (aborted, or the runtime stopped), it
    /// frees the slot as [`Outcome::Cancelled`]. Fields drop in order: the future, then
    /// the slot, then the in-flight count, so that whoever waits for the compartment to
    /// be idle sees every slot back.
    pub(crate) struct Task<F>
    where
        F: Future,
    {
        #[pin]
        future: F,
        slot: Option<OwnedSemaphorePermit>,
        classify: Classify<F::Output>,
        _in_flight: InFlightToken,
    }
}

impl<F: Future> Task<F> {
    pub(crate) fn new(
        future: F,
        mut slot: OwnedSemaphorePermit,
        classify: Classify<F::Output>,
        in_flight: InFlightToken,
    ) -> Self {
        slot.set_outcome(Outcome::Cancelled);
        Task {
            future,
            slot: Some(slot),
            classify,
            _in_flight: in_flight,
        }
    }
}

impl<F: Future> Future for Task<F> {
    type Output = TaskResult<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let future = this.future;
        match panic::catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => {
                if let Some(mut slot) = this.slot.take() {
                    slot.set_outcome((this.classify)(&output));
                }
                Poll::Ready(Ok(output))
            }
            Err(payload) => {
                if let Some(mut slot) = this.slot.take() {
                    slot.set_outcome(Outcome::Panic);
                }
                Poll::Ready(Err(panic_message(payload)))
            }
        }
    }
}

/// A blocking closure's slot and in-flight count, in the order they are released.
pub(crate) struct BlockingSlot {
    slot: OwnedSemaphorePermit,
    _in_flight: InFlightToken,
}

impl BlockingSlot {
    pub(crate) fn new(mut slot: OwnedSemaphorePermit, in_flight: InFlightToken) -> Self {
        slot.set_outcome(Outcome::Cancelled);
        BlockingSlot {
            slot,
            _in_flight: in_flight,
        }
    }

    /// Runs `f` in the slot, catching a panic.
    pub(crate) fn run<F, T>(mut self, f: F) -> TaskResult<T>
    where
        F: FnOnce() -> T,
    {
        match panic::catch_unwind(AssertUnwindSafe(f)) {
            Ok(output) => {
                self.slot.set_outcome(Outcome::Ok);
                Ok(output)
            }
            Err(payload) => {
                self.slot.set_outcome(Outcome::Panic);
                Err(panic_message(payload))
            }
        }
    }
}

/// The message of a panic payload: the `&str` or `String` given to `panic!`.
pub(crate) fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(message) => (*message).to_owned(),
            Err(_) => "panic payload is not a string".to_owned(),
        },
    }
}

/// A task running on a [`RuntimeBulkhead`](crate::RuntimeBulkhead): await it for the
/// task's output.
///
/// Dropping the handle **aborts** the task (at its next `.await`; a blocking closure
/// that has started runs to its end), and its queue slot is freed when the task is
/// dropped, counted as [`Outcome::Cancelled`]. Call [`detach`](RuntimeHandle::detach)
/// to let the task run to completion without anyone awaiting it.
///
/// Resolves to the output, or to [`ExecuteError::Panicked`] with the panic message,
/// [`ExecuteError::Cancelled`] after [`abort`](RuntimeHandle::abort), or
/// [`ExecuteError::ShutDown`] when the runtime was stopped first. It can be awaited from
/// any executor, not only tokio.
#[must_use = "dropping the handle aborts the task; call `detach` to let it run"]
pub struct RuntimeHandle<T> {
    join: JoinHandle<TaskResult<T>>,
    aborted: bool,
    /// Resolved or detached: nothing to abort on drop.
    settled: bool,
}

impl<T> RuntimeHandle<T> {
    pub(crate) fn new(join: JoinHandle<TaskResult<T>>) -> Self {
        RuntimeHandle {
            join,
            aborted: false,
            settled: false,
        }
    }

    /// Lets the task run to completion on its own: dropping the handle no longer
    /// aborts it. Its slot is freed when it ends; a panic is counted in the stats and
    /// otherwise ignored.
    pub fn detach(mut self) {
        self.settled = true;
    }

    /// Aborts the task: it is dropped at its next `.await` (a blocking closure that has
    /// started cannot be stopped) and awaiting the handle then gives
    /// [`ExecuteError::Cancelled`], unless the task finished first.
    pub fn abort(&mut self) {
        self.aborted = true;
        self.join.abort();
    }

    /// Whether the task has ended (completed, panicked or been dropped).
    pub fn is_finished(&self) -> bool {
        self.join.is_finished()
    }
}

impl<T> Future for RuntimeHandle<T> {
    type Output = Result<T, ExecuteError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let joined = ready!(Pin::new(&mut this.join).poll(cx));
        this.settled = true;
        Poll::Ready(match joined {
            Ok(Ok(output)) => Ok(output),
            Ok(Err(message)) => Err(ExecuteError::Panicked { message }),
            Err(e) if e.is_panic() => Err(ExecuteError::Panicked {
                message: panic_message(e.into_panic()),
            }),
            Err(_) if this.aborted => Err(ExecuteError::Cancelled),
            Err(_) => Err(ExecuteError::ShutDown),
        })
    }
}

impl<T> Drop for RuntimeHandle<T> {
    fn drop(&mut self) {
        if !self.settled {
            self.join.abort();
        }
    }
}

impl<T> fmt::Debug for RuntimeHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeHandle")
            .field("finished", &self.join.is_finished())
            .field("aborted", &self.aborted)
            .finish()
    }
}
