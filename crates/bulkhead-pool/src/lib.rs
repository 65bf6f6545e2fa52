//! What the connection-pool compartments share, whatever the pool library: the
//! admission in front of a pool, its configuration, the slot a connection holds, and
//! (feature `postgres`) the PostgreSQL configuration and read/write pair.
//!
//! Users take these types through an adapter, which re-exports them:
//! `bulkhead-deadpool` (over deadpool) and `bulkhead-bb8` (over bb8). This crate is for
//! those adapters and for anyone writing one for another pool library.
//!
//! - [`PoolConfig`]: how a pool compartment admits checkouts (`max_wait`,
//!   `max_waiting`, `retry_after`), with every bound checked and named.
//! - [`PoolGate`]: the admission itself, one slot per connection, with the same FIFO
//!   waits, rejections, stats and events as a semaphore compartment, reported under the
//!   adapter's kind; it resizes and reconfigures live.
//! - [`Slot`]: the slot a checked-out connection holds; it records the call's outcome
//!   and reports the call as finished when it is dropped.
//! - [`pool_builder_methods!`], [`pool_compartment_methods!`] and
//!   [`impl_pool_compartment!`]: the methods and impls an adapter answers through its
//!   gate, written once.
//! - `postgres` (feature): `PostgresConfig` (URL or parameters, sizes, timeouts,
//!   statement timeout, read-only, per pool), and `DatabaseBulkhead<P>`, the read/write
//!   pair over any backend `P` implementing `PostgresPool`.
//!
//! # Example
//!
//! An adapter's checkout: a slot first, then the pool, then the connection wrapped with
//! its slot.
//!
//! ```
//! use std::time::Duration;
//! use bulkhead_pool::{CallError, PoolConfig, PoolGate, RejectReason, Slot};
//!
//! /// A connection together with its slot; dropping it returns both.
//! struct Checkout<'a> {
//!     connection: String,
//!     slot: Slot<'a>,
//! }
//!
//! async fn open() -> Result<String, std::io::Error> {
//!     Ok("connection".to_owned())
//! }
//!
//! async fn get(gate: &PoolGate) -> Result<Checkout<'_>, CallError<std::io::Error>> {
//!     let mut slot = Slot::Borrowed(gate.acquire().await?);
//!     slot.checking_out();
//!     let opened = open().await;
//!     slot.finish(opened, |connection, slot| Checkout { connection, slot }, |e| e)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = PoolConfig::default().max_wait(Duration::from_millis(20));
//! let gate = PoolGate::new("db", "example", 1, &config, None)?;
//!
//! let mut first = get(&gate).await?;
//! assert_eq!(first.connection, "connection");
//! match get(&gate).await {
//!     Err(CallError::Rejected(r)) => assert!(matches!(r.reason(), RejectReason::Timeout { .. })),
//!     _ => panic!("the only slot is taken"),
//! }
//! first.slot.record(&Err::<(), _>("the query failed"));
//! drop(first);
//!
//! let stats = gate.stats();
//! assert_eq!((stats.admitted, stats.failed, stats.rejected.timeout), (1, 1, 1));
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! - `serde` (default): `Deserialize`/`Serialize` for [`PoolConfig`] and the
//!   PostgreSQL configuration, with durations written as `"250ms"` or `"10s"` and
//!   unknown fields refused.
//! - `postgres`: the `postgres` module (tokio-postgres' `Config`, no connection code).
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod adapter;
mod config;
mod gate;
mod slot;

#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod postgres;

pub use bulkhead_core::names;
pub use bulkhead_core::{
    Admitted, CallError, Compartment, CompartmentInfo, ConfigError, Finished, NoopObserver,
    Observer, Outcome, Permit, RejectReason, Rejected, SharedObserver, Stats,
};
pub use bulkhead_semaphore::{Acquire, AcquireOwned, SemaphorePermit};
pub use config::{check_max_size, PoolConfig, MAX_SIZE_LIMIT};
pub use gate::PoolGate;
pub use slot::Slot;
