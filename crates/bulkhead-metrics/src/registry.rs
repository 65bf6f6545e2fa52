//! The sampled part: compartments registered once, their stats published on demand.

use std::error::Error;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use bulkhead_core::names::*;
use bulkhead_core::{Compartment, Outcome, RejectReason, SharedObserver, Stats};
use metrics::{Counter, Gauge, Label};

use crate::describe::describe;
use crate::{KindFigures, MetricsObserver};

/// The compartments whose stats are published as metrics.
///
/// Register each compartment once; [`publish`](Self::publish) then reads every
/// compartment's [`Stats`] and sets its gauges and counters through handles created at
/// registration, with the recorder current then. Call it when Prometheus scrapes
/// (`bulkhead_metrics::prometheus::render` does) or on an interval
/// ([`spawn_publisher`](Self::spawn_publisher)). Guarded calls pay nothing for these
/// figures: they are counted by the compartment anyway.
///
/// Works with every compartment kind through [`Compartment`]; figures only some kinds
/// have come through [`register_with`](Self::register_with).
///
/// Cheap to clone: clones share the registered compartments.
///
/// ```
/// use bulkhead_metrics::BulkheadMetrics;
/// use bulkhead_semaphore::SemaphoreBulkhead;
///
/// let metrics = BulkheadMetrics::new();
/// let orders = SemaphoreBulkhead::builder("orders")
///     .observer(metrics.observer("orders"))
///     .build()?;
/// metrics.register(orders.clone())?;
/// assert_eq!(metrics.names(), ["orders"]);
///
/// // A second compartment with the same name would publish the same series.
/// let again = SemaphoreBulkhead::builder("orders").build()?;
/// assert!(metrics.register(again).is_err());
///
/// metrics.publish(); // at scrape time
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct BulkheadMetrics {
    entries: Arc<RwLock<Vec<Arc<Entry>>>>,
    observers: Arc<Mutex<Vec<Arc<MetricsObserver>>>>,
}

pub(crate) struct Entry {
    pub(crate) compartment: Arc<dyn Compartment>,
    figures: Option<Box<dyn KindFigures>>,
    available: Gauge,
    active: Gauge,
    capacity: Gauge,
    target: Gauge,
    waiting: Gauge,
    pub(crate) utilization: Gauge,
    pub(crate) rejection_rate: Gauge,
    admitted: Counter,
    abandoned: Counter,
    /// In the order of [`RejectReason::LABELS`].
    rejections: [Counter; 4],
    /// In the order of [`Outcome::ALL`].
    calls: [Counter; 4],
    kind_gauges: Mutex<Vec<(&'static str, Gauge)>>,
}

fn label(name: &str) -> Label {
    Label::new(LABEL_BULKHEAD, name.to_owned())
}

impl Entry {
    fn new(compartment: Arc<dyn Compartment>, figures: Option<Box<dyn KindFigures>>) -> Self {
        let name = compartment.name().to_owned();
        let gauge = |metric: &'static str| metrics::gauge!(metric, vec![label(&name)]);
        let counter = |metric: &'static str| metrics::counter!(metric, vec![label(&name)]);
        let rejections = RejectReason::LABELS.map(|reason| {
            metrics::counter!(
                REJECTIONS_TOTAL,
                vec![label(&name), Label::new(LABEL_REASON, reason)]
            )
        });
        let calls = Outcome::ALL.map(|outcome| {
            metrics::counter!(
                CALLS_TOTAL,
                vec![label(&name), Label::new(LABEL_OUTCOME, outcome.as_str())]
            )
        });
        Entry {
            available: gauge(AVAILABLE_PERMITS),
            active: gauge(ACTIVE_TASKS),
            capacity: gauge(CAPACITY),
            target: gauge(TARGET_CAPACITY),
            waiting: gauge(WAITING),
            utilization: gauge(UTILIZATION),
            rejection_rate: gauge(REJECTION_RATE),
            admitted: counter(ADMITTED_TOTAL),
            abandoned: counter(ABANDONED_TOTAL),
            rejections,
            calls,
            kind_gauges: Mutex::new(Vec::new()),
            compartment,
            figures,
        }
    }

    fn publish(&self) -> Stats {
        let s = self.compartment.stats();
        self.available.set(s.available() as f64);
        self.active.set(s.in_use as f64);
        self.capacity.set(s.capacity as f64);
        self.target.set(s.target_capacity as f64);
        self.waiting.set(s.waiting as f64);
        self.admitted.absolute(s.admitted);
        self.abandoned.absolute(s.abandoned);
        for (counter, (_, count)) in self.rejections.iter().zip(s.rejected.by_label()) {
            counter.absolute(count);
        }
        let outcomes = [s.completed, s.failed, s.panicked, s.cancelled];
        for (counter, count) in self.calls.iter().zip(outcomes) {
            counter.absolute(count);
        }
        let mut gauges = self
            .kind_gauges
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut set = |metric: &'static str, value: f64| {
            debug_assert!(
                KIND_METRICS.contains(&metric),
                "`{metric}` is not one of bulkhead_core::names::KIND_METRICS"
            );
            let gauge = match gauges.iter().find(|(m, _)| *m == metric) {
                Some((_, gauge)) => gauge,
                None => {
                    let name = self.compartment.name();
                    gauges.push((metric, metrics::gauge!(metric, vec![label(name)])));
                    &gauges.last().expect("just pushed").1
                }
            };
            gauge.set(value);
        };
        match &self.figures {
            Some(figures) => figures.figures(&mut set),
            None => self.compartment.report_figures(&mut set),
        }
        s
    }
}

impl BulkheadMetrics {
    /// An empty set, describing every metric (`# HELP` text and units) to the current
    /// recorder.
    pub fn new() -> Self {
        describe();
        BulkheadMetrics::default()
    }

    /// An observer recording the waits and hold times of the compartment called
    /// `name`, to attach to it when it is built; what it records is published with
    /// the rest.
    ///
    /// Install the recorder (for example with `bulkhead_metrics::prometheus::install`)
    /// first: the histograms bind to the recorder current now.
    pub fn observer(&self, name: impl Into<Arc<str>>) -> SharedObserver {
        let observer = Arc::new(MetricsObserver::new(name.into()));
        self.observers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&observer));
        observer
    }

    /// Publishes `compartment`'s stats from now on, under its name, with the figures
    /// only its kind has ([`Compartment::report_figures`]: a runtime's busy ratio, a
    /// pool's size).
    ///
    /// Takes a handle to the compartment (they are cheap to clone). Refused when a
    /// compartment with the same name is registered: both would publish the same
    /// series.
    pub fn register<C>(&self, compartment: C) -> Result<(), DuplicateCompartment>
    where
        C: Compartment + 'static,
    {
        self.insert(Arc::new(compartment), None)
    }

    /// Like [`register`](Self::register), with the kind's figures read from
    /// `figures` instead of [`Compartment::report_figures`] (see [`KindFigures`]).
    pub fn register_with<C, F>(
        &self,
        compartment: C,
        figures: F,
    ) -> Result<(), DuplicateCompartment>
    where
        C: Compartment + 'static,
        F: KindFigures,
    {
        self.insert(Arc::new(compartment), Some(Box::new(figures)))
    }

    /// Like [`register`](Self::register), for a compartment already shared as a trait
    /// object.
    pub fn register_dyn(
        &self,
        compartment: Arc<dyn Compartment>,
    ) -> Result<(), DuplicateCompartment> {
        self.insert(compartment, None)
    }

    fn insert(
        &self,
        compartment: Arc<dyn Compartment>,
        figures: Option<Box<dyn KindFigures>>,
    ) -> Result<(), DuplicateCompartment> {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries
            .iter()
            .any(|e| e.compartment.name() == compartment.name())
        {
            return Err(DuplicateCompartment {
                name: compartment.name().to_owned(),
            });
        }
        entries.push(Arc::new(Entry::new(compartment, figures)));
        Ok(())
    }

    /// Stops publishing the compartment called `name`; its series keep their last
    /// values in the recorder. Returns whether it was registered.
    ///
    /// Its observers hand what they recorded to the recorder one last time and are
    /// dropped, so a compartment registered again under the name starts afresh.
    pub fn unregister(&self, name: &str) -> bool {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        let before = entries.len();
        entries.retain(|e| e.compartment.name() != name);
        let mut observers = self
            .observers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        observers.retain(|observer| {
            let keep = observer.name() != name;
            if !keep {
                observer.flush();
            }
            keep
        });
        entries.len() != before
    }

    /// The names of the registered compartments, in registration order.
    pub fn names(&self) -> Vec<String> {
        self.snapshot()
            .iter()
            .map(|e| e.compartment.name().to_owned())
            .collect()
    }

    /// Reads every registered compartment's stats and sets its gauges and counters,
    /// and hands the durations the observers recorded since the last time to the
    /// recorder.
    pub fn publish(&self) {
        for entry in self.snapshot() {
            entry.publish();
        }
        let observers = self
            .observers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for observer in observers {
            observer.flush();
        }
    }

    /// Publishes every `every` on the current tokio runtime, until the returned task
    /// is aborted.
    ///
    /// Needed only with recorders that are not rendered on demand; with Prometheus,
    /// publishing at scrape time (`bulkhead_metrics::prometheus::render`) is enough.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, or if `every` is zero.
    pub fn spawn_publisher(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let metrics = self.clone();
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::spawn(async move {
            loop {
                ticks.tick().await;
                metrics.publish();
            }
        })
    }

    pub(crate) fn snapshot(&self) -> Vec<Arc<Entry>> {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl fmt::Debug for BulkheadMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BulkheadMetrics")
            .field("compartments", &self.names())
            .finish()
    }
}

/// A compartment with the same name is already registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateCompartment {
    name: String,
}

impl DuplicateCompartment {
    /// The name registered twice.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for DuplicateCompartment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a compartment called `{}` is already registered for metrics",
            self.name
        )
    }
}

impl Error for DuplicateCompartment {}
