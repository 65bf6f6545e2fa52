//! The deadpool compartment.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bulkhead_core::{CallError, ConfigError, SharedObserver};
use bulkhead_pool::{PoolConfig, PoolGate, Slot};
use deadpool::managed::{Manager, Pool, PoolError, Timeouts};

use crate::{PoolStatus, Pooled};

/// The kind name of deadpool compartments.
pub const KIND: &str = "deadpool";

/// Why a checkout failed: the compartment refused it, or the pool could not hand out an
/// object (the manager failed to create one, a create or recycle timeout ran out).
pub type CheckoutError<E> = CallError<PoolError<E>>;

/// A predicate that says an object must not go back into the pool.
pub type DiscardIf<T> = fn(&T) -> bool;

/// A compartment over a [`deadpool::managed::Pool`]: one slot per pooled object.
///
/// Checkouts go through the same admission as a
/// semaphore compartment ([`PoolGate`](bulkhead_pool::PoolGate)) sized to the pool's
/// `max_size`: a free slot is taken at once; otherwise the checkout waits in FIFO order
/// for `max_wait` ([`RejectReason::Timeout`](bulkhead_core::RejectReason::Timeout)),
/// is refused at once when `max_wait` is zero
/// ([`RejectReason::Full`](bulkhead_core::RejectReason::Full)) or when `max_waiting`
/// checkouts already wait ([`RejectReason::QueueFull`](bulkhead_core::RejectReason::QueueFull)).
/// An admitted checkout then takes an object from the pool, recycling or creating one;
/// if that fails, the pool's own error comes back as [`CallError::Backend`].
///
/// The compartment owns the pool's slots: take objects through it, not from the pool
/// directly, or admitted checkouts may find the pool empty (reported as
/// `Backend(PoolError::Timeout(TimeoutType::Wait))`).
///
/// Handles are cheap to clone and share one compartment.
///
/// ```
/// use bulkhead_deadpool::deadpool::managed::{self, Metrics, Pool, RecycleResult};
/// use bulkhead_deadpool::{DeadpoolBulkhead, PoolConfig, RejectReason};
///
/// struct Numbers;
///
/// impl managed::Manager for Numbers {
///     type Type = u32;
///     type Error = std::convert::Infallible;
///     async fn create(&self) -> Result<u32, Self::Error> {
///         Ok(7)
///     }
///     async fn recycle(&self, _: &mut u32, _: &Metrics) -> RecycleResult<Self::Error> {
///         Ok(())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = Pool::builder(Numbers).max_size(1).build()?;
/// let numbers = DeadpoolBulkhead::new("numbers", pool, PoolConfig::default())?;
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
pub struct DeadpoolBulkhead<M: Manager> {
    gate: PoolGate,
    pool: Pool<M>,
    /// The pool's create and recycle timeouts; never a wait (the gate did the waiting).
    timeouts: Timeouts,
    discard: Option<DiscardIf<M::Type>>,
}

impl<M: Manager> Clone for DeadpoolBulkhead<M> {
    fn clone(&self) -> Self {
        DeadpoolBulkhead {
            gate: self.gate.clone(),
            pool: self.pool.clone(),
            timeouts: self.timeouts,
            discard: self.discard,
        }
    }
}

/// Builds a [`DeadpoolBulkhead`] with an observer or other options.
pub struct DeadpoolBuilder<M: Manager> {
    name: Arc<str>,
    config: PoolConfig,
    observer: Option<SharedObserver>,
    discard: Option<DiscardIf<M::Type>>,
}

impl<M: Manager> DeadpoolBuilder<M> {
    bulkhead_pool::pool_builder_methods!();

    /// Checks every object as it comes back: when `broken` says so, the object is
    /// dropped instead of going back into the pool, and the pool creates a fresh one
    /// when it is next needed. For connections, `|c| c.is_closed()`.
    pub fn discard_if(mut self, broken: DiscardIf<M::Type>) -> Self {
        self.discard = Some(broken);
        self
    }

    /// Validates the configuration and wraps `pool`, taking its `max_size` as the
    /// number of slots.
    pub fn build(self, pool: Pool<M>) -> Result<DeadpoolBulkhead<M>, ConfigError> {
        let max_size = pool.status().max_size;
        if max_size == 0 {
            return Err(ConfigError::new(
                "max_size",
                "must be at least 1 (got 0; a closed pool also reports 0)",
            )
            .in_compartment(&*self.name));
        }
        let gate = PoolGate::new(self.name, KIND, max_size, &self.config, self.observer)?;
        let pool_timeouts = pool.timeouts();
        Ok(DeadpoolBulkhead {
            gate,
            pool,
            timeouts: Timeouts {
                wait: Some(Duration::ZERO),
                create: pool_timeouts.create,
                recycle: pool_timeouts.recycle,
            },
            discard: self.discard,
        })
    }
}

impl<M: Manager> fmt::Debug for DeadpoolBuilder<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeadpoolBuilder")
            .field("name", &&*self.name)
            .field("config", &self.config)
            .field("observer", &self.observer.is_some())
            .field("discard_if", &self.discard.is_some())
            .finish()
    }
}

/// Takes an object from the pool for an admitted checkout holding `$slot`.
///
/// Written out in each checkout method rather than as an inner async fn: one state
/// machine instead of two measurably cheapens the uncontended path.
macro_rules! checkout {
    ($bulkhead:expr, $slot:expr) => {{
        let mut slot = $slot;
        slot.checking_out();
        let result = $bulkhead.pool.timeout_get(&$bulkhead.timeouts).await;
        slot.finish(
            result,
            |object, slot| Pooled::new(object, slot, $bulkhead.discard),
            |error| error,
        )
    }};
}

impl<M: Manager> DeadpoolBulkhead<M> {
    /// Wraps `pool` in a compartment called `name`, refusing an invalid configuration.
    pub fn new(
        name: impl Into<Arc<str>>,
        pool: Pool<M>,
        config: PoolConfig,
    ) -> Result<Self, ConfigError> {
        Self::builder(name).config(config).build(pool)
    }

    /// Starts building a compartment called `name` with the default configuration.
    pub fn builder(name: impl Into<Arc<str>>) -> DeadpoolBuilder<M> {
        DeadpoolBuilder {
            name: name.into(),
            config: PoolConfig::default(),
            observer: None,
            discard: None,
        }
    }

    bulkhead_pool::pool_compartment_methods!();

    /// Takes an object from the pool, waiting for a slot as configured.
    ///
    /// Rejections ([`CallError::Rejected`]) come from the compartment: `Full` when no
    /// slot is free and `max_wait` is zero, `QueueFull`, `Timeout { waited }` once
    /// `max_wait` has passed, `Closed`. Once admitted, the pool recycles an idle object
    /// or creates one; its failures come back as [`CallError::Backend`] with deadpool's
    /// [`PoolError`] (the manager's error, or a create or recycle timeout) and count as
    /// failed calls.
    ///
    /// Dropping the future while it waits for a slot gives its place up (counted in
    /// [`Stats::abandoned`](bulkhead_core::Stats::abandoned)); dropping it while the
    /// pool creates an object counts as a cancelled call. Must run inside a tokio runtime
    /// with time enabled.
    pub async fn get(&self) -> Result<Pooled<'_, M>, CheckoutError<M::Error>> {
        let permit = self.gate.acquire().await?;
        checkout!(self, Slot::Borrowed(permit))
    }

    /// Like [`get`](Self::get), with an object that owns a handle to the compartment:
    /// `'static`, for spawned tasks.
    pub async fn get_owned(&self) -> Result<Pooled<'static, M>, CheckoutError<M::Error>> {
        let permit = self.gate.acquire_owned().await?;
        checkout!(self, Slot::Owned(permit))
    }

    /// Takes an object only if a slot is free now; never waits for one.
    ///
    /// Fails with [`RejectReason::Full`](bulkhead_core::RejectReason::Full) when none is
    /// free, whatever `max_wait` says. Still async: the pool may recycle or create the
    /// object.
    pub async fn try_get(&self) -> Result<Pooled<'_, M>, CheckoutError<M::Error>> {
        checkout!(self, self.gate.try_acquire()?)
    }

    /// Like [`try_get`](Self::try_get), with an object that owns a handle to the
    /// compartment.
    pub async fn try_get_owned(&self) -> Result<Pooled<'static, M>, CheckoutError<M::Error>> {
        checkout!(self, self.gate.try_acquire_owned()?)
    }

    /// The pool behind the compartment, for its status, metrics and `retain`.
    ///
    /// Take objects through the compartment, not through the pool.
    pub fn pool(&self) -> &Pool<M> {
        &self.pool
    }

    /// The pool's own view: objects that exist, idle objects, its `max_size`.
    pub fn status(&self) -> PoolStatus {
        PoolStatus::from(self.pool.status())
    }

    /// Changes the pool's `max_size` and the number of slots together, without blocking
    /// and without taking objects from their holders: a shrink takes effect as objects
    /// come back.
    pub fn resize(&self, max_size: usize) -> Result<(), ConfigError> {
        bulkhead_pool::check_max_size(max_size).map_err(|e| e.in_compartment(self.name()))?;
        // Slots exist only where the pool has room: grow the pool first, shrink it last.
        if max_size >= self.gate.max_size() {
            self.pool.resize(max_size);
            self.gate.resize(max_size)
        } else {
            self.gate.resize(max_size)?;
            self.pool.resize(max_size);
            Ok(())
        }
    }

    /// Refuses new checkouts, wakes waiting ones with
    /// [`RejectReason::Closed`](bulkhead_core::RejectReason::Closed), and closes the
    /// pool: objects out now are dropped when they come back.
    pub fn close(&self) {
        self.gate.close();
        self.pool.close();
    }
}

bulkhead_pool::impl_pool_compartment!([M: Manager + 'static] DeadpoolBulkhead<M>);
