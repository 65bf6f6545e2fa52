//! A compartment kind defined outside the bulkhead crates, plugged into the registry.
//!
//! [`RateLimit`] admits at most `max_calls` calls per window of `per` (a fixed window),
//! and refuses the others with [`RejectReason::Full`] and a `retry_after` of the time
//! left in the window. It is configured like any built-in kind:
//!
//! ```toml
//! [defaults.rate-limit]
//! per = "1s"
//!
//! [compartments.geocoder]
//! kind = "rate-limit"
//! max_calls = 5
//! ```
//!
//! Everything the registry needs is in [`RateLimitPlugin`]: the kind name, the config
//! type (serde, unknown keys refused, human durations), its validation, how to build a
//! compartment, and what changes live on reload (both keys do).

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bulkhead::registry::{BoxError, BuildContext, Plugin};
use bulkhead::{
    Admitted, Compartment, CompartmentInfo, ConfigError, RejectReason, Rejected, SharedObserver,
    Stats,
};
use serde::{Deserialize, Serialize};

/// The kind name, as written in `kind = "rate-limit"`.
pub const KIND: &str = "rate-limit";
/// The most calls a window may admit.
pub const MAX_CALLS_LIMIT: u32 = 1_000_000;
/// The shortest window.
pub const MIN_WINDOW: Duration = Duration::from_millis(1);
/// The longest window.
pub const MAX_WINDOW: Duration = Duration::from_secs(3600);

/// Configuration of a [`RateLimit`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Calls admitted per window, `1..=1_000_000`.
    ///
    /// Default: 100.
    pub max_calls: u32,
    /// The length of a window, from 1 ms to one hour.
    ///
    /// Default: 1s.
    #[serde(with = "humantime_serde")]
    pub per: Duration,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            max_calls: 100,
            per: Duration::from_secs(1),
        }
    }
}

impl RateLimitConfig {
    /// Every problem with this configuration (empty when it is valid).
    pub fn problems(&self) -> Vec<ConfigError> {
        let mut problems = Vec::new();
        if !(1..=MAX_CALLS_LIMIT).contains(&self.max_calls) {
            problems.push(ConfigError::new(
                "max_calls",
                format!(
                    "must be between 1 and {MAX_CALLS_LIMIT} (got {})",
                    self.max_calls
                ),
            ));
        }
        if !(MIN_WINDOW..=MAX_WINDOW).contains(&self.per) {
            problems.push(ConfigError::new(
                "per",
                format!(
                    "must be between {MIN_WINDOW:?} and {MAX_WINDOW:?} (got {:?})",
                    self.per
                ),
            ));
        }
        problems
    }
}

/// A compartment that admits at most `max_calls` calls per window.
///
/// Cheap to clone; clones share the window.
#[derive(Clone)]
pub struct RateLimit {
    inner: Arc<Inner>,
}

struct Inner {
    info: CompartmentInfo,
    observer: Option<SharedObserver>,
    window: Mutex<Window>,
    closed: AtomicBool,
    admitted: AtomicU64,
    full: AtomicU64,
    closed_rejections: AtomicU64,
}

struct Window {
    config: RateLimitConfig,
    start: Instant,
    used: u32,
}

impl Window {
    /// Starts a new window when the current one is over.
    fn roll(&mut self, now: Instant) {
        if now.duration_since(self.start) >= self.config.per {
            self.start = now;
            self.used = 0;
        }
    }
}

impl RateLimit {
    /// A rate limit named by `info`, reporting to `observer` when there is one.
    pub fn new(
        info: CompartmentInfo,
        config: RateLimitConfig,
        observer: Option<SharedObserver>,
    ) -> Self {
        RateLimit {
            inner: Arc::new(Inner {
                info,
                observer,
                window: Mutex::new(Window {
                    config,
                    start: Instant::now(),
                    used: 0,
                }),
                closed: AtomicBool::new(false),
                admitted: AtomicU64::new(0),
                full: AtomicU64::new(0),
                closed_rejections: AtomicU64::new(0),
            }),
        }
    }

    fn window(&self) -> MutexGuard<'_, Window> {
        self.inner
            .window
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes one call of the current window, or refuses.
    pub fn try_call(&self) -> Result<(), Rejected> {
        let inner = &*self.inner;
        if self.is_closed() {
            inner.closed_rejections.fetch_add(1, Ordering::Relaxed);
            return Err(self.rejected(RejectReason::Closed, None));
        }
        let now = Instant::now();
        let mut window = self.window();
        window.roll(now);
        if window.used >= window.config.max_calls {
            let left = window
                .config
                .per
                .saturating_sub(now.duration_since(window.start));
            drop(window);
            inner.full.fetch_add(1, Ordering::Relaxed);
            return Err(self.rejected(RejectReason::Full, Some(left)));
        }
        window.used += 1;
        drop(window);
        inner.admitted.fetch_add(1, Ordering::Relaxed);
        if let Some(observer) = &inner.observer {
            observer.on_admitted(&inner.info, &Admitted::new(Duration::ZERO));
        }
        Ok(())
    }

    /// Runs `work` if the window has a call left.
    pub async fn call<F: Future>(&self, work: F) -> Result<F::Output, Rejected> {
        self.try_call()?;
        Ok(work.await)
    }

    fn rejected(&self, reason: RejectReason, retry_after: Option<Duration>) -> Rejected {
        let inner = &*self.inner;
        let rejected = Rejected::new(inner.info.name_arc(), reason).with_retry_after(retry_after);
        if let Some(observer) = &inner.observer {
            observer.on_rejected(&inner.info, &rejected);
        }
        rejected
    }

    /// The configuration in force.
    pub fn config(&self) -> RateLimitConfig {
        self.window().config.clone()
    }

    /// Applies a new configuration; calls already admitted in the current window still
    /// count against it.
    pub fn reconfigure(&self, config: RateLimitConfig) {
        let mut window = self.window();
        let before = window.config.max_calls;
        window.config = config;
        let after = window.config.max_calls;
        drop(window);
        if before != after {
            if let Some(observer) = &self.inner.observer {
                observer.on_resized(&self.inner.info, before as usize, after as usize);
            }
        }
    }
}

impl Compartment for RateLimit {
    fn info(&self) -> &CompartmentInfo {
        &self.inner.info
    }

    /// Capacity is `max_calls`; in use, the calls taken in the current window. A rate
    /// limit holds no slot while the work runs, so every admitted call counts as
    /// completed.
    #[allow(clippy::field_reassign_with_default)] // `Stats` is non-exhaustive
    fn stats(&self) -> Stats {
        let inner = &*self.inner;
        let (capacity, used) = {
            let mut window = self.window();
            window.roll(Instant::now());
            (window.config.max_calls as usize, window.used as usize)
        };
        let mut stats = Stats::default();
        stats.capacity = capacity;
        stats.target_capacity = capacity;
        stats.in_use = used;
        stats.admitted = inner.admitted.load(Ordering::Relaxed);
        stats.completed = stats.admitted;
        stats.rejected.full = inner.full.load(Ordering::Relaxed);
        stats.rejected.closed = inner.closed_rejections.load(Ordering::Relaxed);
        stats.closed = self.is_closed();
        stats
    }

    fn close(&self) {
        if !self.inner.closed.swap(true, Ordering::Relaxed) {
            if let Some(observer) = &self.inner.observer {
                observer.on_closed(&self.inner.info);
            }
        }
    }

    fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Relaxed)
    }
}

/// Builds [`RateLimit`]s from `kind = "rate-limit"` sections.
///
/// ```no_run
/// use bulkhead::registry::Registry;
/// use bulkhead_example_custom_kind::{RateLimit, RateLimitPlugin};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let registry = Registry::builder()
///     .file("bulkhead.toml")
///     .plugin(RateLimitPlugin)
///     .build()?;
/// let geocoder = registry.get::<RateLimit>("geocoder")?;
/// # let _ = geocoder;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct RateLimitPlugin;

impl Plugin for RateLimitPlugin {
    type Config = RateLimitConfig;
    type Compartment = RateLimit;

    fn kind(&self) -> &'static str {
        KIND
    }

    fn problems(&self, config: &RateLimitConfig) -> Vec<ConfigError> {
        config.problems()
    }

    fn build(&self, cx: &BuildContext, config: &RateLimitConfig) -> Result<RateLimit, BoxError> {
        Ok(RateLimit::new(
            cx.info().clone(),
            config.clone(),
            cx.observer(),
        ))
    }

    fn reconfigure(
        &self,
        limit: &RateLimit,
        _running: &RateLimitConfig,
        wanted: &RateLimitConfig,
    ) -> Result<RateLimitConfig, BoxError> {
        limit.reconfigure(wanted.clone());
        Ok(limit.config())
    }
}
