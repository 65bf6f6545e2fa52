//! Configuration of a bb8 compartment.

use std::time::Duration;

use bulkhead_core::ConfigError;
use bulkhead_semaphore::{MAX_WAITING_LIMIT, MAX_WAIT_LIMIT};

/// How a [`Bb8Bulkhead`](crate::Bb8Bulkhead) admits checkouts.
///
/// The number of slots is the pool's own `max_size`; this configures what happens when
/// they are all taken. Deserializes with unknown fields refused and durations in human
/// form (`"250ms"`, `"10s"`) when the `serde` feature is on (default).
///
/// ```
/// use std::time::Duration;
/// use bulkhead_bb8::Bb8Config;
///
/// let config = Bb8Config::default().max_wait(Duration::from_millis(250));
/// assert!(config.validate().is_ok());
/// assert_eq!(config.max_waiting, 1024);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields, default))]
pub struct Bb8Config {
    /// How long a checkout may wait for a free slot; zero means fail fast with
    /// [`RejectReason::Full`](bulkhead_core::RejectReason::Full). At most one hour.
    ///
    /// Default: 1s.
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub max_wait: Duration,
    /// Checkouts allowed to wait at once; beyond it they are rejected with
    /// [`RejectReason::QueueFull`](bulkhead_core::RejectReason::QueueFull). Only used when
    /// `max_wait` is not zero. At most 1,000,000.
    ///
    /// Default: 1024.
    pub max_waiting: usize,
    /// Suggested retry delay carried by rejections. Not sent when the compartment is
    /// closed.
    ///
    /// Default: none.
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub retry_after: Option<Duration>,
}

impl Default for Bb8Config {
    fn default() -> Self {
        Bb8Config {
            max_wait: Duration::from_secs(1),
            max_waiting: 1024,
            retry_after: None,
        }
    }
}

impl Bb8Config {
    /// Sets how long checkouts may wait for a slot.
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// Sets how many checkouts may wait at once.
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
        admission_problems(self.max_wait, self.max_waiting, self.retry_after)
    }

    /// Checks the configuration, returning the first problem.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self.problems().into_iter().next() {
            Some(problem) => Err(problem),
            None => Ok(()),
        }
    }
}

/// The checks every pool compartment shares: the bounds of the semaphore admission it is
/// built on.
pub(crate) fn admission_problems(
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
