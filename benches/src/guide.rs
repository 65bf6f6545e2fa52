//! The original guide's `SemaphoreBulkhead`, ported as written, as a peer to measure
//! against.
//!
//! Kept as close to the guide as the current `metrics` API allows: per call it reads the
//! free permits into a `bulkhead_available_permits` gauge, waits for a permit under
//! `tokio::time::timeout`, logs at `info`, and sets a `bulkhead_active_tasks` gauge, all
//! inside an `#[instrument]` span. Each metric call clones the name into its label, as the
//! guide does. Only the changes needed to compile were made: the metrics 0.24 macro form
//! (`gauge!(name, labels).set(value)`), a hand-written error instead of `thiserror`, and
//! `Future` imported.
//!
//! The guide's `try_execute` is not ported: it blocks a worker thread with
//! `block_in_place` and is not part of the measured path.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tracing::{info, instrument, warn};

/// Semaphore isolation compartment (for I/O-bound tasks), as in the guide.
pub struct SemaphoreBulkhead {
    name: String,
    semaphore: Arc<Semaphore>,
    max_permits: usize,
    timeout: Duration,
}

impl fmt::Debug for SemaphoreBulkhead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreBulkhead")
            .field("name", &self.name)
            .field("max_permits", &self.max_permits)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl SemaphoreBulkhead {
    /// A compartment called `name` with `max_permits` slots and a wait of
    /// `timeout_secs` seconds.
    pub fn new(name: impl Into<String>, max_permits: usize, timeout_secs: u64) -> Self {
        Self {
            name: name.into(),
            semaphore: Arc::new(Semaphore::new(max_permits)),
            max_permits,
            timeout: Duration::from_secs(timeout_secs),
        }
    }

    /// Takes a permit and runs the task.
    #[instrument(skip(self, task))]
    pub async fn execute<F, T>(&self, task: F) -> Result<T, BulkheadError>
    where
        F: Future<Output = T>,
    {
        // Metric: free permits.
        let available = self.semaphore.available_permits();
        metrics::gauge!(
            "bulkhead_available_permits",
            "bulkhead" => self.name.clone()
        )
        .set(available as f64);

        // Take a permit, with a timeout.
        let permit = match tokio::time::timeout(self.timeout, self.semaphore.acquire()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => {
                warn!("Bulkhead {} semaphore closed", self.name);
                return Err(BulkheadError::Closed);
            }
            Err(_) => {
                warn!("Bulkhead {} timed out waiting for a permit", self.name);
                metrics::counter!(
                    "bulkhead_rejections_total",
                    "bulkhead" => self.name.clone(),
                    "reason" => "timeout"
                )
                .increment(1);
                return Err(BulkheadError::Timeout);
            }
        };

        info!("Bulkhead {} acquired a permit", self.name);

        // Metric: active tasks.
        metrics::gauge!(
            "bulkhead_active_tasks",
            "bulkhead" => self.name.clone()
        )
        .set((self.max_permits - self.semaphore.available_permits()) as f64);

        // Run the task.
        let result = task.await;

        // The permit is released on drop.
        drop(permit);

        Ok(result)
    }
}

/// The guide's error type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkheadError {
    /// Waiting for a permit timed out.
    Timeout,
    /// No permit was free.
    NoPermits,
    /// The semaphore was closed.
    Closed,
}

impl fmt::Display for BulkheadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BulkheadError::Timeout => "bulkhead timed out",
            BulkheadError::NoPermits => "bulkhead has no free permit",
            BulkheadError::Closed => "bulkhead is closed",
        })
    }
}

impl Error for BulkheadError {}
