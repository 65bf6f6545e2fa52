//! The semaphore compartment.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bulkhead_core::{
    Admission, AdmitFuture, Admitted, CallError, Compartment, CompartmentInfo, ConfigError,
    Finished, Outcome, RejectReason, Rejected, RejectionCounts, SharedObserver, Stats, Timestamp,
};
use tokio::sync::Semaphore;

use crate::counter::PerThreadCount;
use crate::permit::{Held, OwnedSemaphorePermit, Recorded, SemaphorePermit};
use crate::state::{Enqueue, NoPermit, PermitState};
use crate::SemaphoreConfig;

/// The kind name of semaphore compartments.
pub const KIND: &str = "semaphore";

const NO_RETRY_AFTER: u64 = u64::MAX;

/// A compartment that bounds concurrent calls, for I/O-bound work.
///
/// Admission tries for a free slot first and waits only when none is free and the
/// configuration allows it: FIFO, bounded by `max_wait` and by `max_waiting` callers.
/// Slots are released when their permit is dropped, on every path: completion, error,
/// panic, and cancellation of a waiting or running call.
///
/// Handles are cheap to clone and share one compartment.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use bulkhead_semaphore::{SemaphoreBulkhead, SemaphoreConfig};
///
/// let payments = SemaphoreBulkhead::new("payments", SemaphoreConfig::new(2))?;
/// let answer = payments.execute(async { 40 + 2 }).await?;
/// assert_eq!(answer, 42);
///
/// let _a = payments.try_acquire()?;
/// let _b = payments.try_acquire()?;
/// let refused = payments.try_acquire().unwrap_err();
/// assert_eq!(refused.compartment(), "payments");
/// assert_eq!(payments.stats().in_use, 2);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SemaphoreBulkhead {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) info: CompartmentInfo,
    /// Target, permits held, registered waiters, closed flag.
    state: PermitState,
    /// FIFO handoff of permits to waiting callers; holds no permits of its own.
    handoff: Semaphore,
    /// Callers waiting right now (for stats).
    waiting: AtomicUsize,
    max_waiting: AtomicUsize,
    max_wait_nanos: AtomicU64,
    retry_after_nanos: AtomicU64,
    counters: Counters,
    observer: Option<SharedObserver>,
    reconfigure: Mutex<()>,
}

#[derive(Default)]
struct Counters {
    /// Counted per thread: the one counter on the path of every admission.
    admitted: PerThreadCount,
    full: AtomicU64,
    queue_full: AtomicU64,
    timeout: AtomicU64,
    closed: AtomicU64,
    abandoned: AtomicU64,
    /// The highest `completed` figure reported, so snapshots never go backwards.
    completed_seen: AtomicU64,
    failed: AtomicU64,
    panicked: AtomicU64,
    cancelled: AtomicU64,
}

/// Builds a [`SemaphoreBulkhead`] with an observer or other options.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use bulkhead_core::NoopObserver;
/// use bulkhead_semaphore::SemaphoreBulkhead;
///
/// let orders = SemaphoreBulkhead::builder("orders")
///     .max_concurrent(50)
///     .max_wait(Duration::from_secs(10))
///     .observer(Arc::new(NoopObserver))
///     .build()
///     .unwrap();
/// assert_eq!(orders.stats().target_capacity, 50);
/// ```
#[derive(Clone)]
pub struct SemaphoreBuilder {
    name: Arc<str>,
    kind: &'static str,
    config: SemaphoreConfig,
    observer: Option<SharedObserver>,
}

impl SemaphoreBuilder {
    /// Replaces the whole configuration.
    pub fn config(mut self, config: SemaphoreConfig) -> Self {
        self.config = config;
        self
    }

    /// Sets `max_concurrent`.
    pub fn max_concurrent(mut self, n: usize) -> Self {
        self.config.max_concurrent = n;
        self
    }

    /// Sets `max_wait`.
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.config.max_wait = wait;
        self
    }

    /// Sets `max_waiting`.
    pub fn max_waiting(mut self, n: usize) -> Self {
        self.config.max_waiting = n;
        self
    }

    /// Sets `retry_after`.
    pub fn retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.config.retry_after = retry_after;
        self
    }

    /// Reports the compartment as another kind (default: [`KIND`]).
    ///
    /// For compartment kinds built on a semaphore's admission (a runtime compartment
    /// bounds its queued tasks with one), so that stats and events carry their own
    /// kind.
    pub fn kind(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }

    /// Attaches an observer that receives every event of the compartment.
    pub fn observer(mut self, observer: SharedObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Validates the configuration and builds the compartment.
    pub fn build(self) -> Result<SemaphoreBulkhead, ConfigError> {
        let name = self.name;
        self.config
            .validate()
            .map_err(|e| e.in_compartment(&*name))?;
        let c = &self.config;
        Ok(SemaphoreBulkhead {
            inner: Arc::new(Inner {
                info: CompartmentInfo::new(name, self.kind),
                state: PermitState::new(c.max_concurrent),
                handoff: Semaphore::new(0),
                waiting: AtomicUsize::new(0),
                max_waiting: AtomicUsize::new(c.max_waiting),
                max_wait_nanos: AtomicU64::new(nanos(c.max_wait)),
                retry_after_nanos: AtomicU64::new(c.retry_after.map_or(NO_RETRY_AFTER, nanos)),
                counters: Counters::default(),
                observer: self.observer,
                reconfigure: Mutex::new(()),
            }),
        })
    }
}

impl fmt::Debug for SemaphoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreBuilder")
            .field("name", &&*self.name)
            .field("kind", &self.kind)
            .field("config", &self.config)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX - 1)
}

impl SemaphoreBulkhead {
    /// Builds a compartment called `name`, refusing an invalid configuration.
    pub fn new(name: impl Into<Arc<str>>, config: SemaphoreConfig) -> Result<Self, ConfigError> {
        Self::builder(name).config(config).build()
    }

    /// Starts building a compartment called `name` with the default configuration.
    pub fn builder(name: impl Into<Arc<str>>) -> SemaphoreBuilder {
        SemaphoreBuilder {
            name: name.into(),
            kind: KIND,
            config: SemaphoreConfig::default(),
            observer: None,
        }
    }

    /// The compartment's name.
    pub fn name(&self) -> &str {
        self.inner.info.name()
    }

    /// Takes a free slot without waiting.
    ///
    /// Fails with [`RejectReason::Full`] when none is free (whatever `max_wait` says) and
    /// [`RejectReason::Closed`] after [`close`](Self::close). Allocates only on a
    /// thread's first admission in this compartment, for the thread's admission count.
    #[inline]
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, Rejected> {
        let held = self.inner.try_admit()?;
        Ok(SemaphorePermit {
            inner: &self.inner,
            held,
        })
    }

    /// Like [`try_acquire`](Self::try_acquire), with a permit that owns a handle to the
    /// compartment.
    #[inline]
    pub fn try_acquire_owned(&self) -> Result<OwnedSemaphorePermit, Rejected> {
        let held = self.inner.try_admit()?;
        Ok(OwnedSemaphorePermit {
            inner: Arc::clone(&self.inner),
            held,
        })
    }

    /// Takes a free slot if there is one, as [`acquire`](Self::acquire) does first, and
    /// otherwise returns `None` without counting a rejection: for a caller that then
    /// waits through [`acquire`](Self::acquire), where the decision is made and counted.
    ///
    /// Cheaper than creating and polling an [`Acquire`] when slots are usually free.
    #[inline]
    pub fn acquire_if_free(&self) -> Option<SemaphorePermit<'_>> {
        let held = self.inner.take_free()?;
        Some(SemaphorePermit {
            inner: &self.inner,
            held,
        })
    }

    /// Takes a slot, waiting as configured.
    ///
    /// Takes a free slot at once when there is one. Otherwise: with `max_wait` zero,
    /// fails with [`RejectReason::Full`]; with `max_waiting` callers already waiting,
    /// fails with [`RejectReason::QueueFull`]; else waits in FIFO order and fails with
    /// [`RejectReason::Timeout`] after `max_wait`. Dropping the future while it waits
    /// gives up its place (counted in [`Stats::abandoned`]).
    ///
    /// Waiting uses tokio's timer, so it must run inside a tokio runtime with time
    /// enabled.
    pub fn acquire(&self) -> Acquire<'_> {
        Acquire {
            inner: &self.inner,
            wait: None,
        }
    }

    /// Like [`acquire`](Self::acquire), with a permit that owns a handle to the
    /// compartment. The future is `'static`.
    pub fn acquire_owned(&self) -> AcquireOwned {
        AcquireOwned {
            inner: Arc::clone(&self.inner),
            wait: None,
        }
    }

    /// Runs `work` in a slot, waiting for one as configured.
    ///
    /// The slot is released when `work` completes, panics, or is dropped; the release
    /// is reported as [`Outcome::Ok`], [`Outcome::Panic`] or [`Outcome::Cancelled`].
    pub async fn execute<F>(&self, work: F) -> Result<F::Output, Rejected>
    where
        F: Future,
    {
        let mut permit = self.acquire().await?;
        permit.set_outcome(Outcome::Cancelled);
        let output = work.await;
        permit.set_outcome(Outcome::Ok);
        Ok(output)
    }

    /// Runs `work` in a slot only if one is free now; never waits.
    ///
    /// The guide's blocking `try_execute`, done without blocking a worker thread.
    pub async fn try_execute<F>(&self, work: F) -> Result<F::Output, Rejected>
    where
        F: Future,
    {
        let mut permit = self.try_acquire()?;
        permit.set_outcome(Outcome::Cancelled);
        let output = work.await;
        permit.set_outcome(Outcome::Ok);
        Ok(output)
    }

    /// Runs fallible `work` in a slot, keeping its error beside rejections.
    ///
    /// An `Err` from `work` is reported as [`Outcome::Error`].
    pub async fn execute_result<F, T, E>(&self, work: F) -> Result<T, CallError<E>>
    where
        F: Future<Output = Result<T, E>>,
    {
        let mut permit = self.acquire().await?;
        permit.set_outcome(Outcome::Cancelled);
        let output = work.await;
        permit.set_outcome(if output.is_ok() {
            Outcome::Ok
        } else {
            Outcome::Error
        });
        output.map_err(CallError::Backend)
    }

    /// Changes the number of slots without blocking and without cancelling anything.
    ///
    /// Growing takes effect at once and wakes waiters. Shrinking removes free slots at
    /// once and retires busy ones as they come back: [`Stats::capacity`] converges to
    /// [`Stats::target_capacity`].
    pub fn resize(&self, max_concurrent: usize) -> Result<(), ConfigError> {
        let probe = SemaphoreConfig {
            max_concurrent,
            ..SemaphoreConfig::default()
        };
        if let Some(problem) = probe.problems().into_iter().next() {
            return Err(problem.in_compartment(self.name()));
        }
        let inner = &*self.inner;
        let _serial = inner.reconfigure.lock().unwrap_or_else(|p| p.into_inner());
        let old = inner.state.resize(&inner.handoff, max_concurrent);
        if old != max_concurrent {
            if let Some(observer) = &inner.observer {
                observer.on_resized(&inner.info, old, max_concurrent);
            }
        }
        Ok(())
    }

    /// Applies a whole configuration to the running compartment: capacity (as
    /// [`resize`](Self::resize)), waits, queue bound and retry hint. Callers already
    /// waiting keep the wait they started with. Nothing changes when the configuration
    /// is invalid.
    pub fn reconfigure(&self, config: &SemaphoreConfig) -> Result<(), ConfigError> {
        config
            .validate()
            .map_err(|e| e.in_compartment(self.name()))?;
        self.resize(config.max_concurrent)?;
        let inner = &*self.inner;
        inner
            .max_wait_nanos
            .store(nanos(config.max_wait), Ordering::Relaxed);
        inner
            .max_waiting
            .store(config.max_waiting, Ordering::Relaxed);
        inner.retry_after_nanos.store(
            config.retry_after.map_or(NO_RETRY_AFTER, nanos),
            Ordering::Relaxed,
        );
        Ok(())
    }

    /// The configuration in force.
    pub fn config(&self) -> SemaphoreConfig {
        let inner = &*self.inner;
        SemaphoreConfig {
            max_concurrent: inner.state.snapshot().target,
            max_wait: inner.max_wait(),
            max_waiting: inner.max_waiting.load(Ordering::Relaxed),
            retry_after: inner.retry_after(),
        }
    }

    /// Free slots right now: what [`try_acquire`](Self::try_acquire) could take.
    pub fn available_permits(&self) -> usize {
        self.inner.state.snapshot().free()
    }

    /// Refuses new callers and wakes waiting ones with [`RejectReason::Closed`]. Calls
    /// already admitted run to completion and release their slots as usual.
    pub fn close(&self) {
        let inner = &*self.inner;
        if inner.state.close() {
            inner.handoff.close();
            if let Some(observer) = &inner.observer {
                observer.on_closed(&inner.info);
            }
        }
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.inner.state.snapshot().closed
    }

    /// A snapshot of capacity, occupancy and counters.
    pub fn stats(&self) -> Stats {
        self.inner.stats()
    }
}

impl Inner {
    fn max_wait(&self) -> Duration {
        Duration::from_nanos(self.max_wait_nanos.load(Ordering::Relaxed))
    }

    fn retry_after(&self) -> Option<Duration> {
        match self.retry_after_nanos.load(Ordering::Relaxed) {
            NO_RETRY_AFTER => None,
            n => Some(Duration::from_nanos(n)),
        }
    }

    /// Takes a free slot if there is one, counting nothing when there is none: the
    /// first step of every waiting admission.
    #[inline]
    fn take_free(&self) -> Option<Held> {
        self.state
            .try_take()
            .ok()
            .map(|()| self.admitted(Duration::ZERO))
    }

    #[inline]
    fn try_admit(&self) -> Result<Held, Rejected> {
        match self.state.try_take() {
            Ok(()) => Ok(self.admitted(Duration::ZERO)),
            Err(NoPermit::Empty) => Err(self.reject(RejectReason::Full, Duration::ZERO)),
            Err(NoPermit::Closed) => Err(self.reject(RejectReason::Closed, Duration::ZERO)),
        }
    }

    /// The fast path of a waiting admission: a free slot, or a decision without waiting.
    /// `None` means the caller has to wait.
    #[inline]
    fn admit_now(&self) -> Option<Result<Held, Rejected>> {
        match self.state.try_take() {
            Ok(()) => Some(Ok(self.admitted(Duration::ZERO))),
            Err(NoPermit::Closed) => Some(Err(self.reject(RejectReason::Closed, Duration::ZERO))),
            Err(NoPermit::Empty) if self.max_wait_nanos.load(Ordering::Relaxed) == 0 => {
                Some(Err(self.reject(RejectReason::Full, Duration::ZERO)))
            }
            Err(NoPermit::Empty) => None,
        }
    }

    async fn admit_waiting(&self) -> Result<Held, Rejected> {
        let max_wait = self.max_wait();
        if max_wait.is_zero() {
            return Err(self.reject(RejectReason::Full, Duration::ZERO));
        }
        let mut place = match self
            .state
            .take_or_enqueue(self.max_waiting.load(Ordering::Relaxed))
        {
            Enqueue::Taken => return Ok(self.admitted(Duration::ZERO)),
            Enqueue::QueueFull => return Err(self.reject(RejectReason::QueueFull, Duration::ZERO)),
            Enqueue::Closed => return Err(self.reject(RejectReason::Closed, Duration::ZERO)),
            Enqueue::Waiting => WaitPlace::new(self),
        };
        let start = tokio::time::Instant::now();
        // The handoff's acquire future lives in this block only: it is dropped (giving
        // back any permit assigned to it) before `place` leaves the queue, on every
        // path, cancellation included.
        let acquired = {
            let acquire = tokio::time::timeout_at(start + max_wait, self.handoff.acquire());
            acquire.await
        };
        place.decided = true;
        match acquired {
            Ok(Ok(permit)) => {
                permit.forget();
                place.served = true;
                drop(place);
                // The wait is read only when an observer will see it.
                let waited = match self.observer {
                    Some(_) => start.elapsed(),
                    None => Duration::ZERO,
                };
                Ok(self.admitted(waited))
            }
            Ok(Err(_closed)) => {
                drop(place);
                Err(self.reject(RejectReason::Closed, start.elapsed()))
            }
            Err(_elapsed) => {
                drop(place);
                let waited = start.elapsed();
                Err(self.reject(RejectReason::Timeout { waited }, waited))
            }
        }
    }

    #[inline]
    fn admitted(&self, wait: Duration) -> Held {
        self.counters.admitted.add_one();
        let since = self
            .observer
            .as_ref()
            .map(|observer| self.notify_admitted(observer, wait));
        Held {
            since,
            outcome: Recorded::Nothing,
        }
    }

    #[cold]
    #[inline(never)]
    fn notify_admitted(&self, observer: &SharedObserver, wait: Duration) -> Timestamp {
        observer.on_admitted(&self.info, &Admitted::new(wait));
        Timestamp::now()
    }

    #[cold]
    fn reject(&self, reason: RejectReason, waited: Duration) -> Rejected {
        let c = &self.counters;
        match reason {
            RejectReason::Full => &c.full,
            RejectReason::QueueFull => &c.queue_full,
            RejectReason::Timeout { .. } => &c.timeout,
            _ => &c.closed,
        }
        .fetch_add(1, Ordering::Relaxed);
        let rejected = Rejected::new(self.info.name_arc(), reason)
            .with_waited(waited)
            .with_retry_after(self.retry_after());
        if let Some(observer) = &self.observer {
            observer.on_rejected(&self.info, &rejected);
        }
        rejected
    }

    #[inline]
    pub(crate) fn finish(&self, held: Held) {
        // The common case, a success with no observer, is one CAS: successes are not
        // counted one by one (`completed` is derived in `stats`).
        if self.observer.is_none()
            && matches!(held.outcome, Recorded::Nothing | Recorded::Ok)
            && !std::thread::panicking()
        {
            self.state.release(&self.handoff);
        } else {
            self.finish_slow(held);
        }
    }

    #[cold]
    #[inline(never)]
    fn finish_slow(&self, held: Held) {
        let outcome = if std::thread::panicking() {
            Outcome::Panic
        } else {
            held.outcome.outcome()
        };
        // Outcomes other than success are counted before the slot goes back.
        let c = &self.counters;
        match outcome {
            Outcome::Ok => {}
            Outcome::Error => {
                c.failed.fetch_add(1, Ordering::Release);
            }
            Outcome::Panic => {
                c.panicked.fetch_add(1, Ordering::Release);
            }
            Outcome::Cancelled => {
                c.cancelled.fetch_add(1, Ordering::Release);
            }
        }
        if let Some(observer) = &self.observer {
            let held_for = held.since.map(Timestamp::elapsed).unwrap_or_default();
            observer.on_finished(&self.info, &Finished::new(held_for, outcome));
        }
        self.state.release(&self.handoff);
    }

    #[allow(clippy::field_reassign_with_default)] // `Stats` is non-exhaustive
    fn stats(&self) -> Stats {
        let c = &self.counters;
        // Read admissions, then the state word, then the other outcomes. An admission
        // is counted after its slot is taken and a non-ok outcome before its slot goes
        // back, so in this order `admitted - held - others` can only understate the
        // successes, never overstate them; the figure is clamped to the highest one
        // already reported so it never goes backwards. Once quiet it is exact.
        let admitted = c.admitted.load();
        let permits = self.state.snapshot();
        let failed = c.failed.load(Ordering::Acquire);
        let panicked = c.panicked.load(Ordering::Acquire);
        let cancelled = c.cancelled.load(Ordering::Acquire);
        let derived = admitted
            .saturating_sub(permits.held as u64)
            .saturating_sub(failed + panicked + cancelled);
        let completed = c
            .completed_seen
            .fetch_max(derived, Ordering::AcqRel)
            .max(derived);
        let max_wait = self.max_wait();
        let mut rejected = RejectionCounts::default();
        rejected.full = c.full.load(Ordering::Relaxed);
        rejected.queue_full = c.queue_full.load(Ordering::Relaxed);
        rejected.timeout = c.timeout.load(Ordering::Relaxed);
        rejected.closed = c.closed.load(Ordering::Relaxed);
        let mut stats = Stats::default();
        stats.target_capacity = permits.target;
        stats.capacity = permits.target.max(permits.held);
        stats.in_use = permits.held;
        stats.waiting = self.waiting.load(Ordering::Relaxed);
        stats.max_waiting = if max_wait.is_zero() {
            0
        } else {
            self.max_waiting.load(Ordering::Relaxed)
        };
        stats.admitted = admitted;
        stats.rejected = rejected;
        stats.abandoned = c.abandoned.load(Ordering::Relaxed);
        stats.completed = completed;
        stats.failed = failed;
        stats.panicked = panicked;
        stats.cancelled = cancelled;
        stats.closed = permits.closed;
        stats
    }
}

/// A registered waiter; on drop it leaves the queue unless it was served.
struct WaitPlace<'a> {
    inner: &'a Inner,
    /// Admitted or rejected (as opposed to abandoned by a dropped caller).
    decided: bool,
    /// A permit was handed over to this waiter.
    served: bool,
}

impl<'a> WaitPlace<'a> {
    fn new(inner: &'a Inner) -> Self {
        inner.waiting.fetch_add(1, Ordering::Relaxed);
        WaitPlace {
            inner,
            decided: false,
            served: false,
        }
    }
}

impl Drop for WaitPlace<'_> {
    fn drop(&mut self) {
        let inner = self.inner;
        if !self.served {
            inner.state.leave(&inner.handoff);
        }
        if !self.decided {
            inner.counters.abandoned.fetch_add(1, Ordering::Relaxed);
        }
        inner.waiting.fetch_sub(1, Ordering::Relaxed);
    }
}

type WaitFuture<'a> = Pin<Box<dyn Future<Output = Result<Held, Rejected>> + Send + 'a>>;

/// The future returned by [`SemaphoreBulkhead::acquire`].
///
/// Takes a free slot on its first poll without allocating (after a thread's first
/// admission in the compartment); only a caller that has to wait allocates its place in
/// the queue. Dropping it while it waits gives the place up.
#[must_use = "futures do nothing unless polled"]
pub struct Acquire<'a> {
    inner: &'a Inner,
    wait: Option<WaitFuture<'a>>,
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<SemaphorePermit<'a>, Rejected>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let inner = this.inner;
        if this.wait.is_none() {
            if let Some(held) = inner.take_free() {
                return Poll::Ready(Ok(SemaphorePermit { inner, held }));
            }
        }
        this.poll_slow(cx)
    }
}

impl<'a> Acquire<'a> {
    #[cold]
    #[inline(never)]
    fn poll_slow(&mut self, cx: &mut Context<'_>) -> Poll<Result<SemaphorePermit<'a>, Rejected>> {
        let this = self;
        let inner = this.inner;
        let held = match &mut this.wait {
            Some(wait) => std::task::ready!(wait.as_mut().poll(cx)),
            None => match inner.admit_now() {
                Some(decided) => decided,
                None => {
                    let wait = this.wait.insert(Box::pin(inner.admit_waiting()));
                    std::task::ready!(wait.as_mut().poll(cx))
                }
            },
        };
        Poll::Ready(held.map(|held| SemaphorePermit { inner, held }))
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("compartment", &self.inner.info.name())
            .field("waiting", &self.wait.is_some())
            .finish()
    }
}

/// The future returned by [`SemaphoreBulkhead::acquire_owned`]: `'static`, otherwise
/// like [`Acquire`].
#[must_use = "futures do nothing unless polled"]
pub struct AcquireOwned {
    inner: Arc<Inner>,
    wait: Option<WaitFuture<'static>>,
}

impl Future for AcquireOwned {
    type Output = Result<OwnedSemaphorePermit, Rejected>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.wait.is_none() {
            if let Some(held) = this.inner.take_free() {
                return Poll::Ready(Ok(OwnedSemaphorePermit {
                    inner: Arc::clone(&this.inner),
                    held,
                }));
            }
        }
        this.poll_slow(cx)
    }
}

impl AcquireOwned {
    #[cold]
    #[inline(never)]
    fn poll_slow(&mut self, cx: &mut Context<'_>) -> Poll<Result<OwnedSemaphorePermit, Rejected>> {
        let this = self;
        let held = match &mut this.wait {
            Some(wait) => std::task::ready!(wait.as_mut().poll(cx)),
            None => match this.inner.admit_now() {
                Some(decided) => decided,
                None => {
                    let wait = this.wait.insert(wait_owned(Arc::clone(&this.inner)));
                    std::task::ready!(wait.as_mut().poll(cx))
                }
            },
        };
        Poll::Ready(held.map(|held| OwnedSemaphorePermit {
            inner: Arc::clone(&this.inner),
            held,
        }))
    }
}

impl fmt::Debug for AcquireOwned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcquireOwned")
            .field("compartment", &self.inner.info.name())
            .field("waiting", &self.wait.is_some())
            .finish()
    }
}

fn wait_owned(inner: Arc<Inner>) -> WaitFuture<'static> {
    Box::pin(async move { inner.admit_waiting().await })
}

impl fmt::Debug for SemaphoreBulkhead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreBulkhead")
            .field("name", &self.name())
            .field("config", &self.config())
            .field("stats", &self.stats())
            .finish()
    }
}

impl Compartment for SemaphoreBulkhead {
    fn info(&self) -> &CompartmentInfo {
        &self.inner.info
    }

    fn stats(&self) -> Stats {
        self.inner.stats()
    }

    fn close(&self) {
        SemaphoreBulkhead::close(self)
    }

    fn is_closed(&self) -> bool {
        SemaphoreBulkhead::is_closed(self)
    }
}

impl Admission for SemaphoreBulkhead {
    type Permit = OwnedSemaphorePermit;

    #[inline]
    fn try_admit(&self) -> Result<OwnedSemaphorePermit, Rejected> {
        self.try_acquire_owned()
    }

    #[inline]
    fn admit(&self) -> AdmitFuture<OwnedSemaphorePermit> {
        match self.inner.admit_now() {
            Some(decided) => AdmitFuture::ready(decided.map(|held| OwnedSemaphorePermit {
                inner: Arc::clone(&self.inner),
                held,
            })),
            None => AdmitFuture::waiting(self.acquire_owned()),
        }
    }
}
