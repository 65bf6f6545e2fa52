//! The vocabulary every bulkhead compartment speaks.
//!
//! A **compartment** is a named, bounded share of some resource: concurrent calls (a
//! semaphore), a dedicated runtime, or pooled connections. This crate defines what all
//! kinds have in common, so that telemetry, the tower layer and the registry work with
//! every kind without knowing which one it is:
//!
//! - [`Compartment`]: a name, a kind, a [`Stats`] snapshot, and a way to close it.
//! - [`Admission`]: asking for a slot, either without waiting or with the compartment's
//!   bounded wait, yielding an RAII [`Permit`] released on every path.
//! - [`Rejected`]: one error with a [`RejectReason`] that names the compartment;
//!   [`CallError`] keeps a backend's own error beside it, never inside it.
//! - [`Stats`]: capacity, in use, waiting and monotonic counters.
//! - Events ([`Admitted`], [`Rejected`], [`Finished`]) delivered to an [`Observer`] whose
//!   hooks all default to doing nothing.
//! - [`names`]: every metric and attribute name as a documented constant.
//! - [`ConfigError`]: a refused configuration value, naming compartment and key.
//!
//! The crate has no runtime and no telemetry dependencies.
//!
//! # Example
//!
//! An observer that counts rejections, written against the core traits only:
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use bulkhead_core::{CompartmentInfo, Observer, RejectReason, Rejected};
//!
//! #[derive(Default)]
//! struct CountRejections(AtomicU64);
//!
//! impl Observer for CountRejections {
//!     fn on_rejected(&self, _info: &CompartmentInfo, _rejection: &Rejected) {
//!         self.0.fetch_add(1, Ordering::Relaxed);
//!     }
//! }
//!
//! let info = CompartmentInfo::new("payments", "semaphore");
//! let observer = CountRejections::default();
//! let rejection = Rejected::new(info.name_arc(), RejectReason::Full);
//! observer.on_rejected(&info, &rejection);
//! assert_eq!(observer.0.load(Ordering::Relaxed), 1);
//! assert_eq!(rejection.to_string(), "bulkhead `payments` rejected the call: no free slot");
//! ```
//!
//! # Feature flags
//!
//! This crate has no optional features.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod clock;
mod compartment;
mod config;
mod event;
pub mod names;
mod observer;
mod rejection;
mod stats;

pub use clock::Timestamp;
pub use compartment::{Admission, AdmitFuture, Compartment, CompartmentInfo, Permit};
pub use config::ConfigError;
pub use event::{Admitted, Finished, Outcome};
pub use observer::{NoopObserver, Observer, SharedObserver};
pub use rejection::{CallError, RejectReason, Rejected};
pub use stats::{RejectionCounts, Stats};
