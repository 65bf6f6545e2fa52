//! The bb8 compartment.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bb8::{ManageConnection, Pool, PooledConnection, RunError};
use bulkhead_core::{CallError, ConfigError, Rejected, SharedObserver};
use bulkhead_pool::{Acquire, AcquireOwned, PoolConfig, PoolGate, Slot};

use crate::error::ErrorLog;
use crate::{PoolError, PoolErrors, PoolStatus, Pooled};

/// The kind name of bb8 compartments.
pub const KIND: &str = "bb8";

/// Why a checkout failed: the compartment refused it, or the pool could not hand out a
/// connection.
pub type CheckoutError<E> = CallError<PoolError<E>>;

/// A compartment over a [`bb8::Pool`]: one slot per connection.
///
/// Checkouts go through the same admission as a
/// semaphore compartment ([`PoolGate`](bulkhead_pool::PoolGate)) sized to the pool's
/// `max_size`: a free slot is taken at once; otherwise the checkout waits in FIFO order
/// for `max_wait` ([`RejectReason::Timeout`](bulkhead_core::RejectReason::Timeout)),
/// is refused at once when `max_wait` is zero
/// ([`RejectReason::Full`](bulkhead_core::RejectReason::Full)) or when `max_waiting`
/// checkouts already wait ([`RejectReason::QueueFull`](bulkhead_core::RejectReason::QueueFull)).
/// An admitted checkout then gets a connection from bb8, which may open one (bounded by
/// the pool's `connection_timeout`); failures come back as [`CallError::Backend`].
///
/// The compartment owns the pool's connections: take them through it, not from the
/// pool directly, or admitted checkouts may wait on bb8 for connections held elsewhere.
///
/// Handles are cheap to clone and share one compartment.
///
/// ```
/// use bulkhead_bb8::{Bb8Bulkhead, PoolConfig, RejectReason};
///
/// struct Numbers;
///
/// impl bb8::ManageConnection for Numbers {
///     type Connection = u32;
///     type Error = std::convert::Infallible;
///     async fn connect(&self) -> Result<u32, Self::Error> {
///         Ok(7)
///     }
///     async fn is_valid(&self, _: &mut u32) -> Result<(), Self::Error> {
///         Ok(())
///     }
///     fn has_broken(&self, _: &mut u32) -> bool {
///         false
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = bb8::Pool::builder().max_size(1).build_unchecked(Numbers);
/// let numbers = Bb8Bulkhead::new("numbers", pool, PoolConfig::default())?;
///
/// let seven = numbers.get().await?;
/// assert_eq!(*seven, 7);
/// let refused = numbers.try_get().await.unwrap_err();
/// assert_eq!(refused.rejected().map(|r| r.reason()), Some(RejectReason::Full));
/// drop(seven);
/// assert_eq!(numbers.stats().completed, 1);
/// # Ok(())
/// # }
/// ```
pub struct Bb8Bulkhead<M: ManageConnection> {
    gate: PoolGate,
    pool: Pool<M>,
    errors: Option<Arc<dyn ErrorLog<M::Error>>>,
}

impl<M: ManageConnection> Clone for Bb8Bulkhead<M> {
    fn clone(&self) -> Self {
        Bb8Bulkhead {
            gate: self.gate.clone(),
            pool: self.pool.clone(),
            errors: self.errors.clone(),
        }
    }
}

/// Builds a [`Bb8Bulkhead`] with an observer or other options.
pub struct Bb8Builder<M: ManageConnection> {
    name: Arc<str>,
    config: PoolConfig,
    observer: Option<SharedObserver>,
    errors: Option<Arc<dyn ErrorLog<M::Error>>>,
}

impl<M: ManageConnection> Bb8Builder<M> {
    bulkhead_pool::pool_builder_methods!();

    /// Reads the pool's background errors from `errors`, which must be the pool's error
    /// sink: a checkout that times out then carries the last error reported while it
    /// waited.
    pub fn pool_errors(mut self, errors: PoolErrors<M::Error>) -> Self
    where
        M::Error: Sync,
    {
        self.errors = Some(Arc::new(errors));
        self
    }

    /// Validates the configuration and wraps `pool`, taking its `max_size` as the
    /// number of slots.
    pub fn build(self, pool: Pool<M>) -> Result<Bb8Bulkhead<M>, ConfigError> {
        let max_size = pool.config().max_size as usize;
        let gate = PoolGate::new(self.name, KIND, max_size, &self.config, self.observer)?;
        Ok(Bb8Bulkhead {
            gate,
            pool,
            errors: self.errors,
        })
    }
}

impl<M: ManageConnection> fmt::Debug for Bb8Builder<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bb8Builder")
            .field("name", &&*self.name)
            .field("config", &self.config)
            .field("observer", &self.observer.is_some())
            .field("pool_errors", &self.errors.is_some())
            .finish()
    }
}

impl<M: ManageConnection> Bb8Bulkhead<M> {
    /// Wraps `pool` in a compartment called `name`, refusing an invalid configuration.
    pub fn new(
        name: impl Into<Arc<str>>,
        pool: Pool<M>,
        config: PoolConfig,
    ) -> Result<Self, ConfigError> {
        Self::builder(name).config(config).build(pool)
    }

    /// Starts building a compartment called `name` with the default configuration.
    pub fn builder(name: impl Into<Arc<str>>) -> Bb8Builder<M> {
        Bb8Builder {
            name: name.into(),
            config: PoolConfig::default(),
            observer: None,
            errors: None,
        }
    }

    bulkhead_pool::pool_compartment_methods!();

    /// A connection from the pool, waiting for a slot as configured; borrows the pool
    /// like [`bb8::Pool::get`].
    ///
    /// Rejections ([`CallError::Rejected`]) come from the compartment: `Full` when no
    /// slot is free and `max_wait` is zero, `QueueFull`, `Timeout { waited }` once
    /// `max_wait` has passed, `Closed`. Once admitted, bb8 hands out an idle connection
    /// or opens one; if none comes within the pool's `connection_timeout`, the checkout
    /// fails with [`CallError::Backend`] and [`PoolError::TimedOut`], and counts as a
    /// failed call.
    ///
    /// Nothing happens until the future is polled. Dropping it while it waits for a
    /// slot gives its place up (counted in
    /// [`Stats::abandoned`](bulkhead_core::Stats::abandoned)); dropping it while bb8
    /// opens a connection counts as a cancelled call. Must run inside a tokio runtime
    /// with time enabled.
    pub fn get(
        &self,
    ) -> impl Future<Output = Result<Pooled<'_, M>, CheckoutError<M::Error>>> + Send + '_ {
        Checkout::new(self, Wait::default(), self.pool.get())
    }

    /// Like [`get`](Self::get), with a connection that owns handles to the compartment
    /// and the pool: `'static`, for spawned tasks.
    pub fn get_owned(
        &self,
    ) -> impl Future<Output = Result<Pooled<'static, M>, CheckoutError<M::Error>>> + Send + '_ {
        Checkout::new(self, WaitOwned::default(), self.pool.get_owned())
    }

    /// A connection only if a slot is free now; never waits for one.
    ///
    /// Fails with [`RejectReason::Full`](bulkhead_core::RejectReason::Full) when none is
    /// free, whatever `max_wait` says. Still a future: bb8 may check or open the
    /// connection. The slot is taken when the future is first polled.
    pub fn try_get(
        &self,
    ) -> impl Future<Output = Result<Pooled<'_, M>, CheckoutError<M::Error>>> + Send + '_ {
        Checkout::new(self, TryNow, self.pool.get())
    }

    /// Like [`try_get`](Self::try_get), with a connection that owns handles to the
    /// compartment and the pool.
    pub fn try_get_owned(
        &self,
    ) -> impl Future<Output = Result<Pooled<'static, M>, CheckoutError<M::Error>>> + Send + '_ {
        Checkout::new(self, TryNowOwned, self.pool.get_owned())
    }

    /// The most recent pool error reported after the first `seen` ones.
    #[cold]
    fn pool_error(&self, error: RunError<M::Error>, seen: Option<u64>) -> PoolError<M::Error> {
        match (error, &self.errors, seen) {
            (RunError::TimedOut, Some(errors), Some(seen)) => PoolError::TimedOut {
                last_error: errors.since(seen),
            },
            (error, _, _) => PoolError::from(error),
        }
    }

    /// The pool behind the compartment, for its state and configuration.
    ///
    /// Take connections through the compartment, not through the pool.
    pub fn pool(&self) -> &Pool<M> {
        &self.pool
    }

    /// The pool's own view: connections open and idle, and bb8's statistics.
    pub fn status(&self) -> PoolStatus {
        PoolStatus::new(self.gate.max_size(), self.pool.state())
    }

    /// Refuses new checkouts and wakes waiting ones with
    /// [`RejectReason::Closed`](bulkhead_core::RejectReason::Closed). Connections out
    /// now go back to the pool as usual; bb8 has no way to close a pool, so its idle
    /// connections stay open until the last handle to it is dropped.
    pub fn close(&self) {
        self.gate.close();
    }
}

bulkhead_pool::impl_pool_compartment!([M: ManageConnection] Bb8Bulkhead<M>);

/// How a checkout takes its slot from the compartment's gate (borrowed for `'c`):
/// polled until it yields a slot for `'o` or a rejection.
trait Admit<'c, 'o>: Unpin {
    fn poll_admit(
        &mut self,
        gate: &'c PoolGate,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Slot<'o>, Rejected>>;
}

/// Waits for a slot borrowed from the compartment.
#[derive(Default)]
struct Wait<'c> {
    acquire: Option<Acquire<'c>>,
}

impl<'c> Wait<'c> {
    #[cold]
    #[inline(never)]
    fn poll_wait(
        &mut self,
        gate: &'c PoolGate,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Slot<'c>, Rejected>> {
        let acquire = self.acquire.get_or_insert_with(|| gate.acquire());
        Pin::new(acquire).poll(cx).map_ok(Slot::Borrowed)
    }
}

impl<'c> Admit<'c, 'c> for Wait<'c> {
    #[inline(always)]
    fn poll_admit(
        &mut self,
        gate: &'c PoolGate,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Slot<'c>, Rejected>> {
        if self.acquire.is_none() {
            if let Some(permit) = gate.acquire_if_free() {
                return Poll::Ready(Ok(Slot::Borrowed(permit)));
            }
        }
        self.poll_wait(gate, cx)
    }
}

/// Waits for a slot that owns a handle to the compartment.
#[derive(Default)]
struct WaitOwned {
    acquire: Option<AcquireOwned>,
}

impl<'c> Admit<'c, 'static> for WaitOwned {
    #[inline]
    fn poll_admit(
        &mut self,
        gate: &'c PoolGate,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Slot<'static>, Rejected>> {
        let acquire = self.acquire.get_or_insert_with(|| gate.acquire_owned());
        Pin::new(acquire).poll(cx).map_ok(Slot::Owned)
    }
}

/// Takes a free slot borrowed from the compartment, or is refused, without waiting.
struct TryNow;

impl<'c> Admit<'c, 'c> for TryNow {
    #[inline]
    fn poll_admit(
        &mut self,
        gate: &'c PoolGate,
        _: &mut Context<'_>,
    ) -> Poll<Result<Slot<'c>, Rejected>> {
        Poll::Ready(gate.try_acquire())
    }
}

/// Takes a free slot that owns a handle to the compartment, or is refused, without
/// waiting.
struct TryNowOwned;

impl<'c> Admit<'c, 'static> for TryNowOwned {
    #[inline]
    fn poll_admit(
        &mut self,
        gate: &'c PoolGate,
        _: &mut Context<'_>,
    ) -> Poll<Result<Slot<'static>, Rejected>> {
        Poll::Ready(gate.try_acquire_owned())
    }
}

pin_project_lite::pin_project! {
    /// A checkout: takes a slot through `A`, then a connection from bb8 (`get`), and
    /// pairs them.
    ///
    /// Written out rather than as an `async fn`: the compiler then inlines the whole
    /// uncontended path into the caller, which measurably cheapens every checkout.
    struct Checkout<'a, 'c, M: ManageConnection, A, F> {
        // Declared first so it is dropped first: whatever bb8 was doing ends before
        // the slot goes back.
        #[pin]
        get: F,
        // Held from admission until the pool answers.
        slot: Option<Slot<'a>>,
        // Polled while there is no slot.
        admit: A,
        bulkhead: &'c Bb8Bulkhead<M>,
        // The pool's error count when the slot was taken.
        seen: Option<u64>,
    }
}

impl<'a, 'c, M: ManageConnection, A, F> Checkout<'a, 'c, M, A, F> {
    fn new(bulkhead: &'c Bb8Bulkhead<M>, admit: A, get: F) -> Self {
        Checkout {
            get,
            slot: None,
            admit,
            bulkhead,
            seen: None,
        }
    }
}

impl<'a, 'c, M, A, F> Future for Checkout<'a, 'c, M, A, F>
where
    M: ManageConnection,
    A: Admit<'c, 'a>,
    F: Future<Output = Result<PooledConnection<'a, M>, RunError<M::Error>>>,
{
    type Output = Result<Pooled<'a, M>, CheckoutError<M::Error>>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // Polled again after it completed (which the `Future` contract forbids), a
        // checkout may take a new slot before bb8's finished future panics; that slot
        // goes back when the checkout is dropped, so nothing leaks.
        if this.slot.is_none() {
            let bulkhead: &'c Bb8Bulkhead<M> = this.bulkhead;
            let mut slot = match this.admit.poll_admit(&bulkhead.gate, cx) {
                Poll::Ready(Ok(slot)) => slot,
                Poll::Ready(Err(rejected)) => {
                    return Poll::Ready(Err(CallError::Rejected(rejected)))
                }
                Poll::Pending => return Poll::Pending,
            };
            slot.checking_out();
            *this.seen = bulkhead.errors.as_ref().map(|errors| errors.count());
            *this.slot = Some(slot);
        }
        let result = std::task::ready!(this.get.poll(cx));
        let slot = this
            .slot
            .take()
            .expect("a checkout holds its slot until bb8 answers");
        let (bulkhead, seen) = (*this.bulkhead, *this.seen);
        Poll::Ready(slot.finish(result, Pooled::new, |error| {
            bulkhead.pool_error(error, seen)
        }))
    }
}
