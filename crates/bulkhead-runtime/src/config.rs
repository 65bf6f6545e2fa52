//! Configuration of a runtime compartment.

use std::time::Duration;

use bulkhead_core::ConfigError;
use bulkhead_semaphore::SemaphoreConfig;

pub use bulkhead_semaphore::{MAX_WAITING_LIMIT, MAX_WAIT_LIMIT};

/// The most worker threads a runtime compartment may have.
pub const WORKER_THREADS_LIMIT: usize = 1024;
/// The most blocking threads a runtime compartment may start.
pub const MAX_BLOCKING_THREADS_LIMIT: usize = 4096;
/// The most tasks a runtime compartment may hold admitted at once.
pub const QUEUE_CAPACITY_LIMIT: usize = bulkhead_semaphore::MAX_CONCURRENT_LIMIT;
/// The smallest stack a compartment's threads may be given: 64 KiB.
pub const MIN_THREAD_STACK_SIZE: usize = 64 * 1024;
/// The largest stack a compartment's threads may be given: 1 GiB.
pub const THREAD_STACK_SIZE_LIMIT: usize = 1024 * 1024 * 1024;
/// The longest thread name accepted, in bytes.
pub const THREAD_NAME_LIMIT: usize = 64;
/// The shortest sampling interval accepted: 1 ms.
pub const MIN_METRICS_INTERVAL: Duration = Duration::from_millis(1);
/// The longest sampling interval accepted: one hour.
pub const METRICS_INTERVAL_LIMIT: Duration = Duration::from_secs(3600);

/// Configuration of a [`RuntimeBulkhead`](crate::RuntimeBulkhead).
///
/// Deserializes with unknown fields refused and durations in human form (`"250ms"`,
/// `"10s"`) when the `serde` feature is on (default).
///
/// ```
/// use std::time::Duration;
/// use bulkhead_runtime::RuntimeConfig;
///
/// let config = RuntimeConfig::default()
///     .worker_threads(4)
///     .queue_capacity(64)
///     .max_wait(Duration::from_millis(100));
/// assert!(config.validate().is_ok());
/// assert_eq!(config.max_blocking_threads, 16);
///
/// let bad = RuntimeConfig::default().worker_threads(0);
/// assert_eq!(bad.validate().unwrap_err().key(), "worker_threads");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields, default))]
pub struct RuntimeConfig {
    /// Worker threads of the compartment's runtime, `1..=1024`: how many tasks of the
    /// compartment can run at the same instant.
    ///
    /// Default: 2.
    pub worker_threads: usize,
    /// Threads the runtime may start for
    /// [`spawn_blocking`](crate::RuntimeBulkhead::spawn_blocking) work, `1..=4096`,
    /// on top of the workers. Blocking work beyond it waits inside the runtime (it still
    /// holds its queue slot).
    ///
    /// Default: 16.
    pub max_blocking_threads: usize,
    /// Name of every thread of the runtime (workers and blocking threads); at most 64
    /// bytes, no NUL. Linux shows only the first 15 bytes (in `top -H`, `/proc`).
    ///
    /// Default: the compartment's name.
    pub thread_name: Option<String>,
    /// Stack size of the runtime's threads in bytes, from 64 KiB to 1 GiB.
    ///
    /// Default: 2097152 (2 MiB, tokio's default).
    pub thread_stack_size: usize,
    /// Tasks admitted but not finished (queued inside the runtime or running), `1..=1_000_000`.
    /// Submissions beyond it wait for a slot up to `max_wait`, or are refused.
    ///
    /// Default: 1024.
    pub queue_capacity: usize,
    /// How long a submission may wait for a queue slot; zero means fail fast with
    /// [`RejectReason::Full`](bulkhead_core::RejectReason::Full). At most one hour.
    ///
    /// Default: 0 (fail fast).
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub max_wait: Duration,
    /// Submissions allowed to wait for a slot at once; beyond it they are refused with
    /// [`RejectReason::QueueFull`](bulkhead_core::RejectReason::QueueFull). Only used
    /// when `max_wait` is not zero. At most 1,000,000.
    ///
    /// Default: 1024.
    pub max_waiting: usize,
    /// Suggested retry delay carried by rejections (HTTP integrations send it as
    /// `Retry-After`). Not sent when the compartment is closed. At most one hour.
    ///
    /// Default: none.
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub retry_after: Option<Duration>,
    /// Enables tokio's I/O driver on the runtime, for tasks that use tokio's sockets
    /// (`tokio::net`) or other I/O resources. Without it such a task panics with tokio's
    /// "IO is disabled" message, which comes back as
    /// [`ExecuteError::Panicked`](crate::ExecuteError::Panicked). Off by default: CPU-bound
    /// work does not need it, and parking on the driver makes every wake-up of an idle
    /// worker a little dearer. tokio's timer is always enabled.
    ///
    /// Default: false.
    pub enable_io: bool,
    /// How often a sampler task records [`RuntimeStats`](crate::RuntimeStats) (see
    /// [`latest_runtime_stats`](crate::RuntimeBulkhead::latest_runtime_stats)); from
    /// 1 ms to one hour. Without it, figures are sampled only on demand.
    ///
    /// Default: none (on demand only).
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub metrics_interval: Option<Duration>,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            worker_threads: 2,
            max_blocking_threads: 16,
            thread_name: None,
            thread_stack_size: 2 * 1024 * 1024,
            queue_capacity: 1024,
            max_wait: Duration::ZERO,
            max_waiting: 1024,
            retry_after: None,
            enable_io: false,
            metrics_interval: None,
        }
    }
}

impl RuntimeConfig {
    /// Sets `worker_threads`.
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.worker_threads = n;
        self
    }

    /// Sets `max_blocking_threads`.
    pub fn max_blocking_threads(mut self, n: usize) -> Self {
        self.max_blocking_threads = n;
        self
    }

    /// Sets `thread_name`.
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.thread_name = Some(name.into());
        self
    }

    /// Sets `thread_stack_size`, in bytes.
    pub fn thread_stack_size(mut self, bytes: usize) -> Self {
        self.thread_stack_size = bytes;
        self
    }

    /// Sets `queue_capacity`.
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.queue_capacity = n;
        self
    }

    /// Sets `max_wait`.
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// Sets `max_waiting`.
    pub fn max_waiting(mut self, n: usize) -> Self {
        self.max_waiting = n;
        self
    }

    /// Sets `retry_after`.
    pub fn retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// Sets `enable_io`.
    pub fn enable_io(mut self, enable: bool) -> Self {
        self.enable_io = enable;
        self
    }

    /// Sets `metrics_interval`.
    pub fn metrics_interval(mut self, interval: Option<Duration>) -> Self {
        self.metrics_interval = interval;
        self
    }

    /// Every problem with this configuration (empty when it is valid).
    pub fn problems(&self) -> Vec<ConfigError> {
        let mut problems = Vec::new();
        check_range(
            &mut problems,
            "worker_threads",
            self.worker_threads,
            1,
            WORKER_THREADS_LIMIT,
        );
        check_range(
            &mut problems,
            "max_blocking_threads",
            self.max_blocking_threads,
            1,
            MAX_BLOCKING_THREADS_LIMIT,
        );
        if let Some(name) = &self.thread_name {
            if let Some(problem) = thread_name_problem(name) {
                problems.push(ConfigError::new("thread_name", problem));
            }
        }
        check_range(
            &mut problems,
            "thread_stack_size",
            self.thread_stack_size,
            MIN_THREAD_STACK_SIZE,
            THREAD_STACK_SIZE_LIMIT,
        );
        check_range(
            &mut problems,
            "queue_capacity",
            self.queue_capacity,
            1,
            QUEUE_CAPACITY_LIMIT,
        );
        problems.extend(bulkhead_semaphore::wait_problems(
            self.max_wait,
            self.max_waiting,
            self.retry_after,
        ));
        if let Some(interval) = self.metrics_interval {
            if interval < MIN_METRICS_INTERVAL || interval > METRICS_INTERVAL_LIMIT {
                problems.push(ConfigError::new(
                    "metrics_interval",
                    format!(
                        "must be from {MIN_METRICS_INTERVAL:?} to {METRICS_INTERVAL_LIMIT:?} \
                         (got {interval:?})"
                    ),
                ));
            }
        }
        problems
    }

    /// Checks the configuration, returning the first problem.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self.problems().into_iter().next() {
            Some(problem) => Err(problem),
            None => Ok(()),
        }
    }

    /// The admission settings, for the semaphore that bounds the queue.
    pub(crate) fn slots(&self) -> SemaphoreConfig {
        SemaphoreConfig::new(self.queue_capacity)
            .max_wait(self.max_wait)
            .max_waiting(self.max_waiting)
            .retry_after(self.retry_after)
    }
}

fn check_range(problems: &mut Vec<ConfigError>, key: &str, value: usize, min: usize, max: usize) {
    if value < min {
        problems.push(ConfigError::new(
            key,
            format!("must be at least {min} (got {value})"),
        ));
    } else if value > max {
        problems.push(ConfigError::new(
            key,
            format!("must be at most {max} (got {value})"),
        ));
    }
}

/// What is wrong with a thread name, if anything.
pub(crate) fn thread_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("must not be empty".to_owned())
    } else if name.len() > THREAD_NAME_LIMIT {
        Some(format!(
            "must be at most {THREAD_NAME_LIMIT} bytes (got {})",
            name.len()
        ))
    } else if name.contains('\0') {
        Some("must not contain a NUL character".to_owned())
    } else {
        None
    }
}
