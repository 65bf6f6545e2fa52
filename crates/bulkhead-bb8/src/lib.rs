//! Connection-pool compartments over [bb8]: one slot per connection.
//!
//! A [`Bb8Bulkhead`] wraps any `bb8::Pool<M>`. Checkouts take a slot first, with the
//! same admission as every other compartment kind: a free slot at once, otherwise a
//! bounded FIFO wait (`max_wait`, `max_waiting`), or a rejection that names the
//! compartment: `Full`, `QueueFull`, `Timeout { waited }`, `Closed`. Then bb8 hands out
//! an idle connection or opens one; its failures stay beside rejections as
//! [`CallError::Backend`], never inside them.
//!
//! - [`Stats`] are the admission's exact counters (admitted, rejected by reason,
//!   abandoned, completed, failed, panicked, cancelled); [`PoolStatus`] is bb8's own
//!   view (connections open and idle, connections created and closed, timed-out gets).
//! - Events go to an [`Observer`] exactly once: `Admitted` when the slot is taken,
//!   `Rejected`, and `Finished` once the connection is back in the pool, with how long
//!   the slot was held. No clock is read unless an observer is attached.
//! - A checked-out [`Pooled`] connection records how the work went
//!   ([`Pooled::set_outcome`], [`Pooled::record`]); dropping it during a panic counts
//!   as a panic.
//! - bb8 opens connections in the background and reports their errors only to its
//!   error sink; with [`PoolErrors`] as the sink, a checkout that times out says why.
//! - With the `postgres` feature, `postgres::DatabaseBulkhead` is the read/write pair
//!   of the original guide, over bb8-postgres and tokio-postgres.
//!
//! What does not depend on the pool library comes from `bulkhead-pool`, shared with
//! `bulkhead-deadpool` and re-exported here: the admission configuration [`PoolConfig`] and
//! [`MAX_SIZE_LIMIT`] and, with `postgres`, the PostgreSQL configuration and the
//! read/write pair.
//!
//! Checkouts are async even when they never wait for a slot (bb8 may check or open the
//! connection), so these compartments implement [`Compartment`] but not
//! [`Admission`](bulkhead_core::Admission), whose `try_admit` answers synchronously.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use bulkhead_bb8::{Bb8Bulkhead, CallError, PoolConfig, RejectReason};
//!
//! /// Hands out "connections".
//! struct Connections;
//!
//! impl bb8::ManageConnection for Connections {
//!     type Connection = String;
//!     type Error = std::io::Error;
//!     async fn connect(&self) -> Result<String, Self::Error> {
//!         Ok("connection".to_owned())
//!     }
//!     async fn is_valid(&self, _: &mut String) -> Result<(), Self::Error> {
//!         Ok(())
//!     }
//!     fn has_broken(&self, _: &mut String) -> bool {
//!         false
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = bb8::Pool::builder().max_size(2).build(Connections).await?;
//! let config = PoolConfig::default().max_wait(Duration::from_millis(20));
//! let db = Bb8Bulkhead::new("db", pool, config)?;
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
//! - `serde` (default): `Deserialize`/`Serialize` for [`PoolConfig`] and the PostgreSQL
//!   configuration, with durations written as `"250ms"` or `"10s"` and unknown fields
//!   refused.
//! - `postgres`: the `postgres` module, PostgreSQL pools over bb8-postgres and tokio-postgres
//!   without TLS: `postgres::PostgresConfig` (URL or parameters, sizes, timeouts,
//!   statement timeout, read-only) and `postgres::DatabaseBulkhead` with `read()` and
//!   `write()`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod bulkhead;
mod error;
mod pooled;
mod status;

#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod postgres;

pub use bulkhead::{Bb8Builder, Bb8Bulkhead, CheckoutError, KIND};
pub use bulkhead_pool::{
    Admitted, CallError, Compartment, CompartmentInfo, ConfigError, Finished, NoopObserver,
    Observer, Outcome, Permit, PoolConfig, RejectReason, Rejected, SharedObserver, Stats,
    MAX_SIZE_LIMIT,
};
pub use error::{PoolError, PoolErrors};
pub use pooled::Pooled;
pub use status::PoolStatus;

/// The bb8 crate, for building pools and writing managers.
pub use bb8;
pub use bb8::{ManageConnection, Pool, PooledConnection};
