//! Configuration of a semaphore compartment.

use std::time::Duration;

use bulkhead_core::ConfigError;

/// The most slots a semaphore compartment may have. Larger values are refused at load:
/// a limit that high limits nothing and usually means a typo.
pub const MAX_CONCURRENT_LIMIT: usize = 1_000_000;
/// The most callers a semaphore compartment may queue.
pub const MAX_WAITING_LIMIT: usize = 1_000_000;
/// The longest wait for a slot a compartment may allow.
pub const MAX_WAIT_LIMIT: Duration = Duration::from_secs(3600);

/// Configuration of a [`SemaphoreBulkhead`](crate::SemaphoreBulkhead).
///
/// Deserializes with unknown fields refused and durations in human form (`"250ms"`,
/// `"10s"`) when the `serde` feature is on (default).
///
/// ```
/// use std::time::Duration;
/// use bulkhead_semaphore::SemaphoreConfig;
///
/// let config = SemaphoreConfig::new(20).max_wait(Duration::from_millis(250));
/// assert!(config.validate().is_ok());
/// assert_eq!(config.max_waiting, 1024);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields, default))]
pub struct SemaphoreConfig {
    /// Calls allowed to run at once, `1..=1_000_000`.
    ///
    /// Default: 25.
    pub max_concurrent: usize,
    /// How long a caller may wait for a slot; zero means fail fast with
    /// [`RejectReason::Full`](bulkhead_core::RejectReason::Full). At most one hour.
    ///
    /// Default: 0 (fail fast).
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub max_wait: Duration,
    /// Callers allowed to wait at once; beyond it callers are rejected with
    /// [`RejectReason::QueueFull`](bulkhead_core::RejectReason::QueueFull). Only used when
    /// `max_wait` is not zero. At most 1,000,000.
    ///
    /// Default: 1024.
    pub max_waiting: usize,
    /// Suggested retry delay carried by rejections (HTTP integrations send it as
    /// `Retry-After`). Not sent when the compartment is closed.
    ///
    /// Default: none.
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub retry_after: Option<Duration>,
}

impl Default for SemaphoreConfig {
    fn default() -> Self {
        SemaphoreConfig {
            max_concurrent: 25,
            max_wait: Duration::ZERO,
            max_waiting: 1024,
            retry_after: None,
        }
    }
}

impl SemaphoreConfig {
    /// The defaults with `max_concurrent` slots.
    pub fn new(max_concurrent: usize) -> Self {
        SemaphoreConfig {
            max_concurrent,
            ..Self::default()
        }
    }

    /// Sets how long callers may wait for a slot.
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// Sets how many callers may wait at once.
    pub fn max_waiting(mut self, max_waiting: usize) -> Self {
        self.max_waiting = max_waiting;
        self
    }

    /// Sets the retry delay suggested to rejected callers.
    pub fn retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// Every problem with this configuration (empty when it is valid).
    pub fn problems(&self) -> Vec<ConfigError> {
        let mut problems = Vec::new();
        if self.max_concurrent == 0 {
            problems.push(ConfigError::new(
                "max_concurrent",
                "must be at least 1 (got 0)",
            ));
        } else if self.max_concurrent > MAX_CONCURRENT_LIMIT {
            problems.push(ConfigError::new(
                "max_concurrent",
                format!(
                    "must be at most {MAX_CONCURRENT_LIMIT} (got {})",
                    self.max_concurrent
                ),
            ));
        }
        problems.extend(wait_problems(
            self.max_wait,
            self.max_waiting,
            self.retry_after,
        ));
        problems
    }

    /// Checks the configuration, returning the first problem.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self.problems().into_iter().next() {
            Some(problem) => Err(problem),
            None => Ok(()),
        }
    }
}

/// The problems of the waiting settings shared by every kind whose admission is this
/// semaphore (the runtime's queue, the pools' checkouts): `max_wait` and `retry_after`
/// at most [`MAX_WAIT_LIMIT`], `max_waiting` at most [`MAX_WAITING_LIMIT`]. Each
/// problem names its key.
///
/// ```
/// use std::time::Duration;
/// use bulkhead_semaphore::wait_problems;
///
/// let problems = wait_problems(Duration::from_secs(7200), 10, None);
/// assert_eq!(problems[0].to_string(), "`max_wait` must be at most 3600s (got 7200s)");
/// assert!(wait_problems(Duration::from_millis(250), 64, None).is_empty());
/// ```
pub fn wait_problems(
    max_wait: Duration,
    max_waiting: usize,
    retry_after: Option<Duration>,
) -> Vec<ConfigError> {
    let mut problems = Vec::new();
    if max_wait > MAX_WAIT_LIMIT {
        problems.push(ConfigError::new(
            "max_wait",
            format!("must be at most {MAX_WAIT_LIMIT:?} (got {max_wait:?})"),
        ));
    }
    if max_waiting > MAX_WAITING_LIMIT {
        problems.push(ConfigError::new(
            "max_waiting",
            format!("must be at most {MAX_WAITING_LIMIT} (got {max_waiting})"),
        ));
    }
    if let Some(retry) = retry_after {
        if retry > MAX_WAIT_LIMIT {
            problems.push(ConfigError::new(
                "retry_after",
                format!("must be at most {MAX_WAIT_LIMIT:?} (got {retry:?})"),
            ));
        }
    }
    problems
}
