//! Semaphore compartments: bound how many calls run at once against one downstream.
//!
//! A [`SemaphoreBulkhead`] is the compartment for I/O-bound work (HTTP APIs, databases
//! behind a client): each call takes a slot, and a slow downstream can hold at most its
//! compartment's slots, never the whole process.
//!
//! - Fail fast ([`try_acquire`](SemaphoreBulkhead::try_acquire)) or wait, FIFO, bounded
//!   by `max_wait` and by `max_waiting` callers ([`acquire`](SemaphoreBulkhead::acquire),
//!   [`execute`](SemaphoreBulkhead::execute)).
//! - Permits are released on every path: completion, error, panic, cancellation.
//! - Live [`resize`](SemaphoreBulkhead::resize) without blocking and without cancelling
//!   in-flight calls; [`close`](SemaphoreBulkhead::close) refuses new and waiting callers.
//! - Exact [`Stats`] and exactly-once events to an [`Observer`].
//! - Zero heap allocations per admitted call when a slot is free (a thread's first
//!   admission allocates its admission count), no locked instruction besides the
//!   compare-and-swaps on the permit word, and no clock read unless an observer is
//!   attached.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use bulkhead_semaphore::{RejectReason, SemaphoreBulkhead, SemaphoreConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = SemaphoreConfig::new(1).max_wait(Duration::from_millis(50));
//! let db = SemaphoreBulkhead::new("db", config)?;
//!
//! let held = db.acquire().await?;
//! // The only slot is taken: the next caller waits 50 ms, then gives up.
//! let err = db.execute(async { "never runs" }).await.unwrap_err();
//! assert!(matches!(err.reason(), RejectReason::Timeout { .. }));
//! drop(held);
//!
//! assert_eq!(db.execute(async { "runs" }).await?, "runs");
//! let stats = db.stats();
//! assert_eq!((stats.admitted, stats.rejected.timeout, stats.in_use), (2, 1, 0));
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! - `serde` (default): `Deserialize`/`Serialize` for [`SemaphoreConfig`], with
//!   durations written as `"250ms"` or `"10s"` and unknown fields refused.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod counter;
mod permit;
mod semaphore;
mod state;

pub use bulkhead_core::{
    Admission, CallError, Compartment, CompartmentInfo, ConfigError, Observer, Outcome,
    RejectReason, Rejected, SharedObserver, Stats,
};
pub use config::{
    wait_problems, SemaphoreConfig, MAX_CONCURRENT_LIMIT, MAX_WAITING_LIMIT, MAX_WAIT_LIMIT,
};
pub use permit::{OwnedSemaphorePermit, SemaphorePermit};
pub use semaphore::{Acquire, AcquireOwned, SemaphoreBuilder, SemaphoreBulkhead, KIND};
