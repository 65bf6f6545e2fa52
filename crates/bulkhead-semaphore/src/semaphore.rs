//! The semaphore compartment.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{
    AtomicBool, AtomicU64, AtomicUsize, Ordering::Acquire, Ordering::Relaxed, Ordering::Release,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bulkhead_core::{
    Admission, AdmitFuture, Admitted, CallError, Compartment, CompartmentInfo, ConfigError,
    Finished, Outcome, RejectReason, Rejected, RejectionCounts, SharedObserver, Stats, Timestamp,
};
use tokio::sync::{Semaphore, TryAcquireError};

use crate::capacity::Capacity;
use crate::permit::{Held, OwnedSemaphorePermit, SemaphorePermit};
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
    sem: Semaphore,
    capacity: Capacity,
    waiting: AtomicUsize,
    max_waiting: AtomicUsize,
    max_wait_nanos: AtomicU64,
    retry_after_nanos: AtomicU64,
    closed: AtomicBool,
    counters: Counters,
    observer: Option<SharedObserver>,
    reconfigure: Mutex<()>,
}

#[derive(Default)]
struct Counters {
    admitted: AtomicU64,
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
                info: CompartmentInfo::new(name, KIND),
                sem: Semaphore::new(c.max_concurrent),
                capacity: Capacity::new(c.max_concurrent),
                waiting: AtomicUsize::new(0),
                max_waiting: AtomicUsize::new(c.max_waiting),
                max_wait_nanos: AtomicU64::new(nanos(c.max_wait)),
                retry_after_nanos: AtomicU64::new(c.retry_after.map_or(NO_RETRY_AFTER, nanos)),
                closed: AtomicBool::new(false),
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
    /// [`RejectReason::Closed`] after [`close`](Self::close). Never allocates.
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
    pub async fn acquire(&self) -> Result<SemaphorePermit<'_>, Rejected> {
        let held = self.inner.admit().await?;
        Ok(SemaphorePermit {
            inner: &self.inner,
            held,
        })
    }

    /// Like [`acquire`](Self::acquire), with a permit that owns a handle to the
    /// compartment. The future is `'static`.
    pub fn acquire_owned(
        &self,
    ) -> impl Future<Output = Result<OwnedSemaphorePermit, Rejected>> + Send + 'static {
        let inner = Arc::clone(&self.inner);
        async move {
            let held = inner.admit().await?;
            Ok(OwnedSemaphorePermit { inner, held })
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
        let old = inner.capacity.resize(&inner.sem, max_concurrent);
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
        inner.max_wait_nanos.store(nanos(config.max_wait), Relaxed);
        inner.max_waiting.store(config.max_waiting, Relaxed);
        inner
            .retry_after_nanos
            .store(config.retry_after.map_or(NO_RETRY_AFTER, nanos), Relaxed);
        Ok(())
    }

    /// The configuration in force.
    pub fn config(&self) -> SemaphoreConfig {
        let inner = &*self.inner;
        SemaphoreConfig {
            max_concurrent: inner.capacity.target(),
            max_wait: inner.max_wait(),
            max_waiting: inner.max_waiting.load(Relaxed),
            retry_after: inner.retry_after(),
        }
    }

    /// Free slots right now.
    pub fn available_permits(&self) -> usize {
        self.inner.sem.available_permits()
    }

    /// Refuses new callers and wakes waiting ones with [`RejectReason::Closed`]. Calls
    /// already admitted run to completion and release their slots as usual.
    pub fn close(&self) {
        let inner = &*self.inner;
        if !inner.closed.swap(true, Relaxed) {
            inner.sem.close();
            if let Some(observer) = &inner.observer {
                observer.on_closed(&inner.info);
            }
        }
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Relaxed)
    }

    /// A snapshot of capacity, occupancy and counters.
    pub fn stats(&self) -> Stats {
        self.inner.stats()
    }
}

impl Inner {
    fn max_wait(&self) -> Duration {
        Duration::from_nanos(self.max_wait_nanos.load(Relaxed))
    }

    fn retry_after(&self) -> Option<Duration> {
        match self.retry_after_nanos.load(Relaxed) {
            NO_RETRY_AFTER => None,
            n => Some(Duration::from_nanos(n)),
        }
    }

    #[inline]
    fn try_admit(&self) -> Result<Held, Rejected> {
        match self.sem.try_acquire() {
            Ok(permit) => {
                permit.forget();
                Ok(self.admitted(Duration::ZERO))
            }
            Err(TryAcquireError::NoPermits) => Err(self.reject(RejectReason::Full, Duration::ZERO)),
            Err(TryAcquireError::Closed) => Err(self.reject(RejectReason::Closed, Duration::ZERO)),
        }
    }

    async fn admit(&self) -> Result<Held, Rejected> {
        match self.sem.try_acquire() {
            Ok(permit) => {
                permit.forget();
                return Ok(self.admitted(Duration::ZERO));
            }
            Err(TryAcquireError::Closed) => {
                return Err(self.reject(RejectReason::Closed, Duration::ZERO))
            }
            Err(TryAcquireError::NoPermits) => {}
        }
        self.admit_waiting().await
    }

    async fn admit_waiting(&self) -> Result<Held, Rejected> {
        let max_wait = self.max_wait();
        if max_wait.is_zero() {
            return Err(self.reject(RejectReason::Full, Duration::ZERO));
        }
        let mut queue = WaitPlace::join(self)
            .ok_or_else(|| self.reject(RejectReason::QueueFull, Duration::ZERO))?;
        let start = tokio::time::Instant::now();
        let acquired = tokio::time::timeout(max_wait, self.sem.acquire()).await;
        let waited = start.elapsed();
        queue.decided = true;
        drop(queue);
        match acquired {
            Ok(Ok(permit)) => {
                permit.forget();
                Ok(self.admitted(waited))
            }
            Ok(Err(_closed)) => Err(self.reject(RejectReason::Closed, waited)),
            Err(_elapsed) => Err(self.reject(RejectReason::Timeout { waited }, waited)),
        }
    }

    #[inline]
    fn admitted(&self, wait: Duration) -> Held {
        self.counters.admitted.fetch_add(1, Relaxed);
        let since = match &self.observer {
            None => None,
            Some(observer) => {
                observer.on_admitted(&self.info, &Admitted::new(wait));
                Some(Timestamp::now())
            }
        };
        Held {
            since,
            outcome: None,
        }
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
        .fetch_add(1, Relaxed);
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
        let outcome = if std::thread::panicking() {
            Outcome::Panic
        } else {
            held.outcome.unwrap_or(Outcome::Ok)
        };
        // Successes are counted by the release itself (`Capacity::released`); the other
        // outcomes, rarer, are counted here, before the release.
        let c = &self.counters;
        match outcome {
            Outcome::Ok => {}
            Outcome::Error => {
                c.failed.fetch_add(1, Release);
            }
            Outcome::Panic => {
                c.panicked.fetch_add(1, Release);
            }
            Outcome::Cancelled => {
                c.cancelled.fetch_add(1, Release);
            }
        }
        if let Some(observer) = &self.observer {
            let held_for = held.since.map(Timestamp::elapsed).unwrap_or_default();
            observer.on_finished(&self.info, &Finished::new(held_for, outcome));
        }
        self.capacity.release(&self.sem);
    }

    #[allow(clippy::field_reassign_with_default)] // `Stats` is non-exhaustive
    fn stats(&self) -> Stats {
        let c = &self.counters;
        // A release counts its outcome (unless ok) before it bumps `released`, and
        // admissions are counted after the slot is taken. Reading `released` first and
        // the rest after means a snapshot never shows more finished calls than admitted
        // ones, and `completed` (derived) is never overstated; it is clamped to the
        // highest figure already reported so it never goes backwards either.
        let finished = self.capacity.released();
        let failed = c.failed.load(Acquire);
        let panicked = c.panicked.load(Acquire);
        let cancelled = c.cancelled.load(Acquire);
        let admitted = c.admitted.load(Relaxed);
        let derived = finished.saturating_sub(failed + panicked + cancelled);
        let completed = c.completed_seen.fetch_max(derived, Relaxed).max(derived);
        let finished = completed + failed + panicked + cancelled;
        let max_wait = self.max_wait();
        let mut rejected = RejectionCounts::default();
        rejected.full = c.full.load(Relaxed);
        rejected.queue_full = c.queue_full.load(Relaxed);
        rejected.timeout = c.timeout.load(Relaxed);
        rejected.closed = c.closed.load(Relaxed);
        let mut stats = Stats::default();
        stats.capacity = self.capacity.current();
        stats.target_capacity = self.capacity.target();
        stats.in_use = usize::try_from(admitted.saturating_sub(finished)).unwrap_or(usize::MAX);
        stats.waiting = self.waiting.load(Relaxed);
        stats.max_waiting = if max_wait.is_zero() {
            0
        } else {
            self.max_waiting.load(Relaxed)
        };
        stats.admitted = admitted;
        stats.rejected = rejected;
        stats.abandoned = c.abandoned.load(Relaxed);
        stats.completed = completed;
        stats.failed = failed;
        stats.panicked = panicked;
        stats.cancelled = cancelled;
        stats.closed = self.closed.load(Relaxed);
        stats
    }
}

/// A place in the bounded wait queue, given up on drop.
struct WaitPlace<'a> {
    inner: &'a Inner,
    decided: bool,
}

impl<'a> WaitPlace<'a> {
    fn join(inner: &'a Inner) -> Option<Self> {
        let max = inner.max_waiting.load(Relaxed);
        let mut waiting = inner.waiting.load(Relaxed);
        loop {
            if waiting >= max {
                return None;
            }
            match inner
                .waiting
                .compare_exchange_weak(waiting, waiting + 1, Relaxed, Relaxed)
            {
                Ok(_) => {
                    return Some(WaitPlace {
                        inner,
                        decided: false,
                    })
                }
                Err(actual) => waiting = actual,
            }
        }
    }
}

impl Drop for WaitPlace<'_> {
    fn drop(&mut self) {
        if !self.decided {
            self.inner.counters.abandoned.fetch_add(1, Relaxed);
        }
        self.inner.waiting.fetch_sub(1, Relaxed);
    }
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
        match self.inner.sem.try_acquire() {
            Ok(permit) => {
                permit.forget();
                let held = self.inner.admitted(Duration::ZERO);
                AdmitFuture::ready(Ok(OwnedSemaphorePermit {
                    inner: Arc::clone(&self.inner),
                    held,
                }))
            }
            Err(TryAcquireError::Closed) => {
                AdmitFuture::ready(Err(self.inner.reject(RejectReason::Closed, Duration::ZERO)))
            }
            Err(TryAcquireError::NoPermits) => {
                if self.inner.max_wait().is_zero() {
                    return AdmitFuture::ready(Err(self
                        .inner
                        .reject(RejectReason::Full, Duration::ZERO)));
                }
                let inner = Arc::clone(&self.inner);
                AdmitFuture::waiting(async move {
                    let held = inner.admit_waiting().await?;
                    Ok(OwnedSemaphorePermit { inner, held })
                })
            }
        }
    }
}
