//! Connection-pool compartments over [deadpool]: one slot per pooled object.
//!
//! A [`DeadpoolBulkhead`] wraps any `deadpool::managed::Pool<M>`. Checkouts take a slot
//! first, with the same admission as every other compartment kind: a free slot at once,
//! otherwise a bounded FIFO wait (`max_wait`, `max_waiting`), or a rejection that names
//! the compartment: `Full`, `QueueFull`, `Timeout { waited }`, `Closed`. Then the pool
//! recycles or creates the object; its failures stay beside rejections as
//! [`CallError::Backend`], never inside them.
//!
//! - [`Stats`] are the admission's exact counters (admitted, rejected by reason,
//!   abandoned, completed, failed, panicked, cancelled); [`PoolStatus`] is the pool's own
//!   view (size, max size, idle, waiting).
//! - Events go to an [`Observer`] exactly once: `Admitted` when the slot is taken,
//!   `Rejected`, and `Finished` once the object is back in the pool, with how long the
//!   slot was held. No clock is read unless an observer is attached.
//! - A checked-out [`Pooled`] object records how the work went
//!   ([`Pooled::set_outcome`], [`Pooled::record`]); dropping it during a panic counts as
//!   a panic. Broken objects can be dropped instead of going back
//!   ([`DeadpoolBuilder::discard_if`]).
//! - With the `postgres` feature, `postgres::DatabaseBulkhead` is the read/write pair
//!   of the original guide, over deadpool-postgres and tokio-postgres.
//!
//! What does not depend on the pool library comes from `bulkhead-pool`, shared with
//! `bulkhead-bb8` and re-exported here: the admission configuration [`PoolConfig`] and
//! [`MAX_SIZE_LIMIT`] and, with `postgres`, the PostgreSQL configuration and the
//! read/write pair.
//!
//! Checkouts are async even when they never wait for a slot (deadpool recycles objects
//! asynchronously), so these compartments implement [`Compartment`] but not
//! [`Admission`](bulkhead_core::Admission), whose `try_admit` answers synchronously.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use bulkhead_deadpool::deadpool::managed::{self, Metrics, Pool, RecycleResult};
//! use bulkhead_deadpool::{CallError, DeadpoolBulkhead, PoolConfig, RejectReason};
//!
//! /// Hands out numbered "connections".
//! struct Connections;
//!
//! impl managed::Manager for Connections {
//!     type Type = String;
//!     type Error = std::io::Error;
//!     async fn create(&self) -> Result<String, Self::Error> {
//!         Ok("connection".to_owned())
//!     }
//!     async fn recycle(&self, _: &mut String, _: &Metrics) -> RecycleResult<Self::Error> {
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = Pool::builder(Connections).max_size(2).build()?;
//! let config = PoolConfig::default().max_wait(Duration::from_millis(20));
//! let db = DeadpoolBulkhead::new("db", pool, config)?;
//!
//! let a = db.get().await?;
//! let mut b = db.get().await?;
//! assert_eq!(b.as_str(), "connection");
//! // Both slots are taken: the next checkout waits 20 ms, then gives up.
//! match db.get().await {
//!     Err(CallError::Rejected(r)) => {
//!         assert!(matches!(r.reason(), RejectReason::Timeout { .. }));
//!         assert_eq!(r.compartment(), "db");
//!     }
//!     other => panic!("expected a timeout, got {other:?}"),
//! }
//! b.record(&Err::<(), _>("the query failed"));
//! drop((a, b));
//!
//! let stats = db.stats();
//! assert_eq!((stats.admitted, stats.completed, stats.failed), (2, 1, 1));
//! assert_eq!(stats.rejected.timeout, 1);
//! assert_eq!((db.status().size, db.status().idle), (2, 2));
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! - `serde` (default): `Deserialize`/`Serialize` for [`PoolConfig`] and the
//!   PostgreSQL configuration, with durations written as `"250ms"` or `"10s"` and
//!   unknown fields refused.
//! - `postgres`: the `postgres` module, PostgreSQL pools over deadpool-postgres and tokio-postgres
//!   without TLS: `postgres::PostgresConfig` (URL or parameters, sizes, timeouts,
//!   statement timeout, read-only) and `postgres::DatabaseBulkhead` with `read()` and
//!   `write()`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod bulkhead;
mod pooled;
mod status;

#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod postgres;

pub use bulkhead::{CheckoutError, DeadpoolBuilder, DeadpoolBulkhead, DiscardIf, KIND};
pub use bulkhead_pool::{
    Admitted, CallError, Compartment, CompartmentInfo, ConfigError, Finished, NoopObserver,
    Observer, Outcome, Permit, PoolConfig, RejectReason, Rejected, SharedObserver, Stats,
    MAX_SIZE_LIMIT,
};
pub use pooled::Pooled;
pub use status::PoolStatus;

/// The deadpool crate, for building pools and writing managers.
pub use deadpool;
pub use deadpool::managed::{Manager, Object, Pool, PoolError, TimeoutType};
