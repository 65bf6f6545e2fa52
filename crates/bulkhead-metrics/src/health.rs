//! The health monitor: utilisation and rejection rate per compartment, per interval.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use bulkhead_core::{ConfigError, Stats};
use serde::Serialize;

use crate::registry::Entry;
use crate::BulkheadMetrics;

/// How the health monitor samples and judges compartments.
///
/// ```
/// use std::time::Duration;
/// use bulkhead_metrics::HealthConfig;
///
/// let config = HealthConfig::default()
///     .interval(Duration::from_secs(30))
///     .utilization_threshold(0.8);
/// assert_eq!(config.rejection_rate_threshold, 0.05);
/// assert!(config.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
#[non_exhaustive]
pub struct HealthConfig {
    /// How often figures are computed, published and judged.
    ///
    /// Default: 10 s.
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub interval: Duration,
    /// How many times per interval the in-use share is sampled; utilisation is their
    /// mean. The last sample is taken at the end of the interval.
    ///
    /// Default: 10.
    pub samples_per_interval: u32,
    /// Utilisation above which a compartment is degraded and a warning is logged.
    ///
    /// Default: 0.9.
    pub utilization_threshold: f64,
    /// Rejection rate above which a compartment is saturated and an error is logged.
    ///
    /// Default: 0.05.
    pub rejection_rate_threshold: f64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            interval: Duration::from_secs(10),
            samples_per_interval: 10,
            utilization_threshold: 0.9,
            rejection_rate_threshold: 0.05,
        }
    }
}

impl HealthConfig {
    /// Sets `interval`.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Sets `samples_per_interval`.
    pub fn samples_per_interval(mut self, samples: u32) -> Self {
        self.samples_per_interval = samples;
        self
    }

    /// Sets `utilization_threshold`.
    pub fn utilization_threshold(mut self, threshold: f64) -> Self {
        self.utilization_threshold = threshold;
        self
    }

    /// Sets `rejection_rate_threshold`.
    pub fn rejection_rate_threshold(mut self, threshold: f64) -> Self {
        self.rejection_rate_threshold = threshold;
        self
    }

    /// Refuses a zero interval, zero samples, or thresholds outside `0..=1`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.interval.is_zero() {
            return Err(ConfigError::new("interval", "must be longer than zero"));
        }
        if self.samples_per_interval == 0 {
            return Err(ConfigError::new(
                "samples_per_interval",
                "must be at least 1",
            ));
        }
        for (key, value) in [
            ("utilization_threshold", self.utilization_threshold),
            ("rejection_rate_threshold", self.rejection_rate_threshold),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(ConfigError::new(
                    key,
                    format!("must be within 0..=1, not {value}"),
                ));
            }
        }
        Ok(())
    }
}

/// How a compartment fared over the last interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// Below both thresholds.
    Healthy,
    /// Utilisation above its threshold, rejection rate not.
    Degraded,
    /// Rejection rate above its threshold: callers are being turned away.
    Saturated,
}

impl HealthStatus {
    /// `healthy`, `degraded` or `saturated`.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Healthy => "healthy",
            HealthStatus::Degraded => "degraded",
            HealthStatus::Saturated => "saturated",
        }
    }
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One compartment's figures over the last interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CompartmentHealth {
    /// The compartment's name.
    pub name: String,
    /// The compartment's kind.
    pub kind: &'static str,
    /// The verdict.
    pub status: HealthStatus,
    /// Mean share of the target capacity in use over the samples of the interval.
    pub utilization: f64,
    /// Rejected divided by admitted plus rejected callers during the interval; zero
    /// when there were none.
    pub rejection_rate: f64,
    /// Callers admitted during the interval.
    pub admitted: u64,
    /// Callers refused during the interval.
    pub rejected: u64,
    /// Slots in use at the end of the interval.
    pub in_use: usize,
    /// Configured slots at the end of the interval.
    pub capacity: usize,
    /// Callers waiting at the end of the interval.
    pub waiting: usize,
    /// Whether the compartment is closed.
    pub closed: bool,
}

/// Every compartment's health over the last interval, ready to serve as `/health`.
///
/// ```
/// use bulkhead_metrics::{HealthReport, HealthStatus};
///
/// let report = HealthReport::default();
/// assert_eq!(report.status, HealthStatus::Healthy);
/// assert_eq!(report.http_status(), 200);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct HealthReport {
    /// The worst status of any compartment (healthy when there are none).
    pub status: HealthStatus,
    /// Length of the interval the figures cover, in milliseconds.
    pub interval_ms: u64,
    /// Intervals completed since the monitor started.
    pub intervals: u64,
    /// One entry per compartment, in registration order.
    pub compartments: Vec<CompartmentHealth>,
}

impl Default for HealthReport {
    fn default() -> Self {
        HealthReport {
            status: HealthStatus::Healthy,
            interval_ms: 0,
            intervals: 0,
            compartments: Vec::new(),
        }
    }
}

impl HealthReport {
    /// The HTTP status a `/health` endpoint should answer with: 503 when a compartment
    /// is saturated, 200 otherwise (a degraded compartment still serves).
    pub fn http_status(&self) -> u16 {
        match self.status {
            HealthStatus::Saturated => 503,
            HealthStatus::Healthy | HealthStatus::Degraded => 200,
        }
    }

    /// The figures of the compartment called `name`.
    pub fn compartment(&self, name: &str) -> Option<&CompartmentHealth> {
        self.compartments.iter().find(|c| c.name == name)
    }
}

/// Computes each compartment's utilisation and rejection rate over every interval from
/// its [`Stats`], publishes them as `bulkhead_utilization` and
/// `bulkhead_rejection_rate`, logs a warning above the utilisation threshold and an
/// error above the rejection-rate threshold, and keeps a [`HealthReport`].
///
/// Watches the compartments registered in a [`BulkheadMetrics`], including those
/// registered later. Drive it with [`spawn`](Self::spawn), or by hand with
/// [`sample`](Self::sample) and [`end_interval`](Self::end_interval).
///
/// Cheap to clone: clones share the figures.
///
/// ```
/// use std::time::Duration;
/// use bulkhead_metrics::{BulkheadMetrics, HealthConfig, HealthMonitor, HealthStatus};
/// use bulkhead_semaphore::SemaphoreBulkhead;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let metrics = BulkheadMetrics::new();
/// let db = SemaphoreBulkhead::builder("db").max_concurrent(2).build()?;
/// metrics.register(db.clone())?;
///
/// let monitor = HealthMonitor::new(&metrics, HealthConfig::default().samples_per_interval(1))?;
/// let _one = db.try_acquire()?;
/// let _two = db.try_acquire()?;
/// assert!(db.try_acquire().is_err()); // 1 of 3 callers refused
///
/// let report = monitor.end_interval();
/// let figures = report.compartment("db").unwrap();
/// assert_eq!(figures.utilization, 1.0);
/// assert!((figures.rejection_rate - 1.0 / 3.0).abs() < 1e-9);
/// assert_eq!(figures.status, HealthStatus::Saturated);
/// assert_eq!(report.http_status(), 503);
///
/// // In a service: monitor.spawn(), and serve monitor.report() as JSON at /health.
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct HealthMonitor {
    inner: Arc<Inner>,
}

struct Inner {
    metrics: BulkheadMetrics,
    config: HealthConfig,
    state: Mutex<State>,
    report: RwLock<Arc<HealthReport>>,
}

#[derive(Default)]
struct State {
    intervals: u64,
    /// Per compartment name: the snapshot at the start of the interval and the
    /// utilisation samples taken since.
    open: HashMap<String, Window>,
}

struct Window {
    start: Stats,
    utilization_sum: f64,
    samples: u32,
}

impl Window {
    fn starting(stats: Stats) -> Self {
        Window {
            start: stats,
            utilization_sum: 0.0,
            samples: 0,
        }
    }
}

impl HealthMonitor {
    /// A monitor of `metrics`' compartments; the first interval starts now.
    pub fn new(metrics: &BulkheadMetrics, config: HealthConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let monitor = HealthMonitor {
            inner: Arc::new(Inner {
                metrics: metrics.clone(),
                report: RwLock::new(Arc::new(HealthReport {
                    interval_ms: millis(config.interval),
                    ..HealthReport::default()
                })),
                config,
                state: Mutex::new(State::default()),
            }),
        };
        let mut compartments = Vec::new();
        {
            let mut state = monitor.lock();
            for entry in metrics.snapshot() {
                let start = monitor.window(&mut state, &entry).start;
                // Until the first interval ends: who is watched, nothing measured yet.
                compartments.push(CompartmentHealth {
                    name: entry.compartment.name().to_owned(),
                    kind: entry.compartment.kind(),
                    status: HealthStatus::Healthy,
                    utilization: 0.0,
                    rejection_rate: 0.0,
                    admitted: 0,
                    rejected: 0,
                    in_use: start.in_use,
                    capacity: start.target_capacity,
                    waiting: start.waiting,
                    closed: start.closed,
                });
            }
        }
        *monitor
            .inner
            .report
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(HealthReport {
            interval_ms: millis(monitor.inner.config.interval),
            compartments,
            ..HealthReport::default()
        });
        Ok(monitor)
    }

    /// The configuration.
    pub fn config(&self) -> &HealthConfig {
        &self.inner.config
    }

    /// The report of the last completed interval. Before the first one ends, it lists
    /// the compartments registered when the monitor was made, healthy, with their
    /// occupancy then and nothing measured (`intervals` is 0).
    pub fn report(&self) -> Arc<HealthReport> {
        Arc::clone(
            &self
                .inner
                .report
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The open window of `entry`, started now for a compartment seen the first time.
    fn window<'s>(&self, state: &'s mut State, entry: &Entry) -> &'s mut Window {
        state
            .open
            .entry(entry.compartment.name().to_owned())
            .or_insert_with(|| Window::starting(entry.compartment.stats()))
    }

    /// Takes one utilisation sample of every compartment.
    ///
    /// [`spawn`](Self::spawn) calls it `samples_per_interval - 1` times per interval,
    /// evenly spaced, and [`end_interval`](Self::end_interval) takes the last one.
    pub fn sample(&self) {
        let mut state = self.lock();
        for entry in self.inner.metrics.snapshot() {
            let utilization = entry.compartment.stats().utilization();
            let window = self.window(&mut state, &entry);
            window.utilization_sum += utilization;
            window.samples += 1;
        }
    }

    /// Takes the interval's last sample, computes every compartment's figures, publishes
    /// them, logs what crossed a threshold, stores and returns the report, and starts
    /// the next interval.
    pub fn end_interval(&self) -> Arc<HealthReport> {
        let config = &self.inner.config;
        let mut state = self.lock();
        state.intervals += 1;
        let entries = self.inner.metrics.snapshot();
        let mut compartments = Vec::with_capacity(entries.len());
        let names: Vec<&str> = entries.iter().map(|e| e.compartment.name()).collect();
        state.open.retain(|name, _| names.contains(&name.as_str()));
        for entry in &entries {
            let now = entry.compartment.stats();
            let window = self.window(&mut state, entry);
            let utilization =
                (window.utilization_sum + now.utilization()) / f64::from(window.samples + 1);
            let delta = now.delta_since(&window.start);
            *window = Window::starting(now);
            let rejection_rate = delta.rejection_rate();
            entry.utilization.set(utilization);
            entry.rejection_rate.set(rejection_rate);

            let name = entry.compartment.name();
            let mut status = HealthStatus::Healthy;
            if utilization > config.utilization_threshold {
                status = HealthStatus::Degraded;
                tracing::warn!(
                    bulkhead = name,
                    utilization,
                    threshold = config.utilization_threshold,
                    "bulkhead `{name}` utilisation is high: {:.1}%",
                    utilization * 100.0
                );
            }
            if rejection_rate > config.rejection_rate_threshold {
                status = HealthStatus::Saturated;
                tracing::error!(
                    bulkhead = name,
                    rejection_rate,
                    threshold = config.rejection_rate_threshold,
                    "bulkhead `{name}` rejection rate is high: {:.1}%",
                    rejection_rate * 100.0
                );
            }
            compartments.push(CompartmentHealth {
                name: name.to_owned(),
                kind: entry.compartment.kind(),
                status,
                utilization,
                rejection_rate,
                admitted: delta.admitted,
                rejected: delta.rejected.total(),
                in_use: now.in_use,
                capacity: now.target_capacity,
                waiting: now.waiting,
                closed: now.closed,
            });
        }
        let report = Arc::new(HealthReport {
            status: compartments
                .iter()
                .map(|c| c.status)
                .max()
                .unwrap_or(HealthStatus::Healthy),
            interval_ms: millis(config.interval),
            intervals: state.intervals,
            compartments,
        });
        *self
            .inner
            .report
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::clone(&report);
        report
    }

    /// Runs the monitor on the current tokio runtime until the returned task is
    /// aborted: `samples_per_interval` evenly spaced samples per interval, the last of
    /// which ends the interval.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn spawn(&self) -> tokio::task::JoinHandle<()> {
        let monitor = self.clone();
        let samples = self.inner.config.samples_per_interval;
        let step = self.inner.config.interval / samples;
        let step = step.max(Duration::from_nanos(1));
        tokio::spawn(async move {
            let start = tokio::time::Instant::now();
            let mut ticks = tokio::time::interval_at(start + step, step);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut taken = 0;
            loop {
                ticks.tick().await;
                taken += 1;
                if taken == samples {
                    monitor.end_interval();
                    taken = 0;
                } else {
                    monitor.sample();
                }
            }
        })
    }
}

impl fmt::Debug for HealthMonitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HealthMonitor")
            .field("config", &self.inner.config)
            .field("compartments", &self.inner.metrics.names())
            .finish()
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
