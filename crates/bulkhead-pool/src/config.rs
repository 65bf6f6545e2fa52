//! How a pool compartment admits checkouts.

use std::time::Duration;

use bulkhead_core::ConfigError;

/// The largest pool a compartment accepts: the bound of the admission it is built on.
pub const MAX_SIZE_LIMIT: usize = bulkhead_semaphore::MAX_CONCURRENT_LIMIT;

/// How a pool compartment admits checkouts.
///
/// The number of slots is the pool's own `max_size`; this configures what happens when
/// they are all taken. Deserializes with unknown fields refused and durations in human
/// form (`"250ms"`, `"10s"`) when the `serde` feature is on (default).
///
/// ```
/// use std::time::Duration;
/// use bulkhead_pool::PoolConfig;
///
/// let config = PoolConfig::default().max_wait(Duration::from_millis(250));
/// assert!(config.validate().is_ok());
/// assert_eq!(config.max_waiting, 1024);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields, default))]
pub struct PoolConfig {
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

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_wait: Duration::from_secs(1),
            max_waiting: 1024,
            retry_after: None,
        }
    }
}

impl PoolConfig {
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

    /// Every problem with this configuration (empty when it is valid): the bounds of
    /// the semaphore admission a pool compartment is built on.
    pub fn problems(&self) -> Vec<ConfigError> {
        let mut problems = Vec::new();
        problems.extend(bulkhead_semaphore::wait_problems(
            self.max_wait,
            self.max_waiting,
            self.retry_after,
        ));
        problems
    }

    /// Checks the configuration, returning the first problem.
    pub fn validate(&self) -> Result<(), ConfigError> {
        first(self.problems())
    }
}

/// Checks the size of a pool: `1..=MAX_SIZE_LIMIT`. The error's key is `max_size`.
pub fn check_max_size(max_size: usize) -> Result<(), ConfigError> {
    if max_size == 0 {
        Err(ConfigError::new("max_size", "must be at least 1 (got 0)"))
    } else if max_size > MAX_SIZE_LIMIT {
        Err(ConfigError::new(
            "max_size",
            format!("must be at most {MAX_SIZE_LIMIT} (got {max_size})"),
        ))
    } else {
        Ok(())
    }
}

/// The first problem, if any.
pub(crate) fn first(problems: Vec<ConfigError>) -> Result<(), ConfigError> {
    match problems.into_iter().next() {
        Some(problem) => Err(problem),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "serde")]
    #[test]
    fn the_config_reads_human_durations_and_refuses_unknown_keys() {
        let config: PoolConfig =
            toml::from_str("max_wait = \"250ms\"\nmax_waiting = 8\nretry_after = \"1s\"").unwrap();
        assert_eq!(
            config,
            PoolConfig::default()
                .max_wait(Duration::from_millis(250))
                .max_waiting(8)
                .retry_after(Some(Duration::from_secs(1)))
        );
        let unknown = toml::from_str::<PoolConfig>("max_concurrent = 3").unwrap_err();
        assert!(unknown.to_string().contains("unknown field"), "{unknown}");
        let defaults: PoolConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(defaults, PoolConfig::default());
    }

    #[test]
    fn every_bound_is_checked_and_named() {
        let config = PoolConfig {
            max_wait: Duration::from_secs(7200),
            max_waiting: bulkhead_semaphore::MAX_WAITING_LIMIT + 1,
            retry_after: Some(Duration::from_secs(7200)),
        };
        let problems = config.problems();
        let keys: Vec<&str> = problems.iter().map(|p| p.key()).collect();
        assert_eq!(keys, ["max_wait", "max_waiting", "retry_after"]);
        assert_eq!(
            config.validate().unwrap_err().to_string(),
            "`max_wait` must be at most 3600s (got 7200s)"
        );
        assert!(check_max_size(1).is_ok() && check_max_size(MAX_SIZE_LIMIT).is_ok());
        assert_eq!(
            check_max_size(0).unwrap_err().to_string(),
            "`max_size` must be at least 1 (got 0)"
        );
    }
}
