//! The admission in front of a pool: one slot per connection.

use std::fmt;
use std::sync::Arc;

use bulkhead_core::{CompartmentInfo, ConfigError, Rejected, SharedObserver, Stats};
use bulkhead_semaphore::{
    Acquire, AcquireOwned, SemaphoreBulkhead, SemaphoreConfig, SemaphorePermit,
};

use crate::config::check_max_size;
use crate::{PoolConfig, Slot};

/// The admission of a pool compartment: as many slots as the pool's `max_size`, taken
/// like the permits of a [`SemaphoreBulkhead`] (FIFO waits bounded by `max_wait` and
/// `max_waiting`, rejections naming the compartment), reported under the adapter's
/// kind.
///
/// An adapter keeps one gate beside its pool, takes a [`Slot`] before asking the pool
/// for a connection, and answers stats, configuration, resize and close through it.
/// Handles are cheap to clone and share one gate.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use bulkhead_pool::{PoolConfig, PoolGate, RejectReason, Slot};
///
/// let config = PoolConfig::default().max_wait(Duration::ZERO);
/// let gate = PoolGate::new("db", "my-pool", 1, &config, None)?;
///
/// let slot = Slot::Borrowed(gate.acquire().await?);
/// assert_eq!(gate.try_acquire().unwrap_err().reason(), RejectReason::Full);
/// drop(slot);
/// let stats = gate.stats();
/// assert_eq!((stats.capacity, stats.completed, stats.rejected.full), (1, 1, 1));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PoolGate {
    semaphore: SemaphoreBulkhead,
}

impl PoolGate {
    /// A gate called `name` of kind `kind` with `max_size` slots, refusing an invalid
    /// configuration or size with the compartment named.
    pub fn new(
        name: impl Into<Arc<str>>,
        kind: &'static str,
        max_size: usize,
        config: &PoolConfig,
        observer: Option<SharedObserver>,
    ) -> Result<Self, ConfigError> {
        let name = name.into();
        config.validate().map_err(|e| e.in_compartment(&*name))?;
        check_max_size(max_size).map_err(|e| e.in_compartment(&*name))?;
        let mut builder = SemaphoreBulkhead::builder(name)
            .kind(kind)
            .config(semaphore_config(max_size, config));
        if let Some(observer) = observer {
            builder = builder.observer(observer);
        }
        Ok(PoolGate {
            semaphore: builder.build()?,
        })
    }

    /// The compartment's name.
    pub fn name(&self) -> &str {
        self.semaphore.name()
    }

    /// The compartment's name and kind.
    pub fn info(&self) -> &CompartmentInfo {
        bulkhead_core::Compartment::info(&self.semaphore)
    }

    /// A free slot if there is one, without counting a rejection when there is none;
    /// wrap the permit in [`Slot::Borrowed`]. A checkout that gets `None` then waits
    /// through [`acquire`](Self::acquire).
    #[inline]
    pub fn acquire_if_free(&self) -> Option<SemaphorePermit<'_>> {
        self.semaphore.acquire_if_free()
    }

    /// Waits for a slot as configured; wrap the permit in [`Slot::Borrowed`].
    #[inline]
    pub fn acquire(&self) -> Acquire<'_> {
        self.semaphore.acquire()
    }

    /// Waits for a slot as configured; wrap the permit in [`Slot::Owned`].
    #[inline]
    pub fn acquire_owned(&self) -> AcquireOwned {
        self.semaphore.acquire_owned()
    }

    /// A slot only if one is free now.
    #[inline]
    pub fn try_acquire(&self) -> Result<Slot<'_>, Rejected> {
        self.semaphore.try_acquire().map(Slot::Borrowed)
    }

    /// A slot that owns a handle to the gate, only if one is free now.
    #[inline]
    pub fn try_acquire_owned(&self) -> Result<Slot<'static>, Rejected> {
        self.semaphore.try_acquire_owned().map(Slot::Owned)
    }

    /// The number of slots (after a shrink, the target that taken slots drain to).
    pub fn max_size(&self) -> usize {
        self.semaphore.config().max_concurrent
    }

    /// A snapshot of the admission: slots, slots in use, checkouts waiting, counters.
    pub fn stats(&self) -> Stats {
        self.semaphore.stats()
    }

    /// The waiting rules in force.
    pub fn config(&self) -> PoolConfig {
        let config = self.semaphore.config();
        PoolConfig {
            max_wait: config.max_wait,
            max_waiting: config.max_waiting,
            retry_after: config.retry_after,
        }
    }

    /// Applies new waiting rules. Checkouts already waiting keep the wait they started
    /// with. Nothing changes when the configuration is invalid.
    pub fn reconfigure(&self, config: &PoolConfig) -> Result<(), ConfigError> {
        config
            .validate()
            .map_err(|e| e.in_compartment(self.name()))?;
        self.semaphore
            .reconfigure(&semaphore_config(self.max_size(), config))
    }

    /// Changes the number of slots without blocking and without taking slots from
    /// their holders: a shrink takes effect as slots come back. The pool must have room
    /// for every slot: grow the pool first, shrink it last.
    pub fn resize(&self, max_size: usize) -> Result<(), ConfigError> {
        check_max_size(max_size).map_err(|e| e.in_compartment(self.name()))?;
        self.semaphore.resize(max_size)
    }

    /// Refuses new checkouts and wakes waiting ones with
    /// [`RejectReason::Closed`](bulkhead_core::RejectReason::Closed).
    pub fn close(&self) {
        self.semaphore.close();
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.semaphore.is_closed()
    }
}

impl fmt::Debug for PoolGate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolGate")
            .field("name", &self.name())
            .field("kind", &self.info().kind())
            .field("config", &self.config())
            .field("stats", &self.stats())
            .finish()
    }
}

fn semaphore_config(max_size: usize, config: &PoolConfig) -> SemaphoreConfig {
    SemaphoreConfig::new(max_size)
        .max_wait(config.max_wait)
        .max_waiting(config.max_waiting)
        .retry_after(config.retry_after)
}
