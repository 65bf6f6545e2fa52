//! Runtime compartments: CPU-heavy or untrusted work on a tokio runtime of its own.
//!
//! A [`RuntimeBulkhead`] owns a dedicated multi-thread tokio runtime. Work submitted to
//! it runs on the compartment's worker threads, so a job that spins for seconds, or a
//! flood of them, cannot starve the service's main runtime or another compartment: the
//! guide's "thread pool isolation", with the footguns removed.
//!
//! - A bounded queue: at most `queue_capacity` tasks admitted and not finished; beyond
//!   it submissions wait for a slot (FIFO, bounded by `max_wait` and `max_waiting`) or
//!   are refused with [`Rejected`] (`Full`, `QueueFull`, `Timeout`, `Closed`). The
//!   queue is a [`SemaphoreBulkhead`](bulkhead_semaphore::SemaphoreBulkhead) reporting
//!   the kind `"runtime"`, so [`Stats`] and [`Observer`] events count tasks exactly as
//!   they count semaphore calls.
//! - Submission from any executor: [`execute`](RuntimeBulkhead::execute) and
//!   [`execute_blocking`](RuntimeBulkhead::execute_blocking) await the output;
//!   [`spawn`](RuntimeBulkhead::spawn) and [`spawn_blocking`](RuntimeBulkhead::spawn_blocking)
//!   return a [`RuntimeHandle`].
//! - Panic isolation: a panicking task's message comes back to its caller as
//!   [`ExecuteError::Panicked`]; the workers and the other tasks carry on.
//! - Cancellation: dropping the caller's future or handle aborts the task and frees its
//!   slot; [`RuntimeHandle::detach`] is the explicit fire-and-forget.
//! - A lifecycle without footguns: building and dropping a compartment is safe inside
//!   async code (the runtime is never dropped in a way that blocks);
//!   [`close`](RuntimeBulkhead::close) refuses new work;
//!   [`shutdown`](RuntimeBulkhead::shutdown) drains in-flight tasks until a deadline,
//!   then stops the runtime and waits for its threads.
//! - tokio-metrics figures: [`RuntimeStats`] (workers, threads, alive tasks, global
//!   queue depth, busy ratio, parks) and [`TaskStats`] from a `TaskMonitor` on every task
//!   (scheduling delay, poll durations), sampled on demand
//!   ([`runtime_stats`](RuntimeBulkhead::runtime_stats)) or every `metrics_interval`
//!   ([`latest_runtime_stats`](RuntimeBulkhead::latest_runtime_stats)). Figures that
//!   tokio only has with `--cfg tokio_unstable` are in `RuntimeStats::unstable` in such
//!   builds.
//! - Tower: `bulkhead_tower::RuntimeLayer` (feature `runtime` of `bulkhead-tower`) runs
//!   each call of a service on a compartment.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use bulkhead_runtime::{RejectReason, RuntimeBulkhead, RuntimeConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = RuntimeConfig::default().worker_threads(2).queue_capacity(64);
//! let images = RuntimeBulkhead::new("images", config)?;
//!
//! // Async work and blocking work run on the compartment's own threads.
//! let sum = images.execute(async { (1..=10u64).sum::<u64>() }).await?;
//! assert_eq!(sum, 55);
//! let pixels = images.execute_blocking(|| vec![0u8; 1024].len()).await?;
//! assert_eq!(pixels, 1024);
//!
//! // A panic comes back to its caller only; the compartment keeps serving.
//! let err = images
//!     .execute(async {
//!         let width: u32 = 0;
//!         assert!(width > 0, "corrupt image");
//!         width
//!     })
//!     .await
//!     .unwrap_err();
//! assert_eq!(err.panic_message(), Some("corrupt image"));
//! assert_eq!(images.execute(async { "still serving" }).await?, "still serving");
//!
//! let stats = images.stats();
//! assert_eq!((stats.admitted, stats.completed, stats.panicked), (4, 3, 1));
//! assert_eq!(images.runtime_stats().workers, 2);
//!
//! // Drain, then stop the runtime and its threads.
//! let report = images.shutdown(Duration::from_secs(5)).await;
//! assert!(report.drained);
//! assert_eq!(report.threads_left, 0);
//! let refused = images.execute(async {}).await.unwrap_err();
//! assert_eq!(refused.rejected().map(|r| r.reason()), Some(RejectReason::Closed));
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! - `serde` (default): `Deserialize`/`Serialize` for [`RuntimeConfig`], with
//!   durations written as `"250ms"` or `"10s"` and unknown fields refused.
//!
//! Building with `RUSTFLAGS="--cfg tokio_unstable"` adds `RuntimeStats::unstable`
//! (an `UnstableRuntimeStats`): polls, mean poll duration, remote and local schedules,
//! steals, overflows, no-op wake-ups, forced yields, local and blocking queue depths,
//! blocking thread counts. Without it those figures do not exist, in the type or in
//! tokio.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod bulkhead;
mod config;
mod error;
mod stats;
mod task;

pub use bulkhead::{RuntimeBuilder, RuntimeBulkhead, ShutdownReport, KIND, MIN_STOP_WAIT};
pub use bulkhead_core::{
    names, Admission, Admitted, Compartment, CompartmentInfo, ConfigError, Finished, NoopObserver,
    Observer, Outcome, Permit, RejectReason, Rejected, SharedObserver, Stats,
};
pub use config::{
    RuntimeConfig, MAX_BLOCKING_THREADS_LIMIT, MAX_WAITING_LIMIT, MAX_WAIT_LIMIT,
    METRICS_INTERVAL_LIMIT, MIN_METRICS_INTERVAL, MIN_THREAD_STACK_SIZE, QUEUE_CAPACITY_LIMIT,
    THREAD_NAME_LIMIT, THREAD_STACK_SIZE_LIMIT, WORKER_THREADS_LIMIT,
};
pub use error::{BuildError, ExecuteError};
#[cfg(tokio_unstable)]
pub use stats::UnstableRuntimeStats;
pub use stats::{RuntimeStats, TaskStats};
pub use task::{RuntimeHandle, RuntimePermit};
pub use tokio_metrics;
