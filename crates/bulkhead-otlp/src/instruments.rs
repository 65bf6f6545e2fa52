//! OpenTelemetry instruments with the names and meaning of the Prometheus metrics.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use bulkhead_core::names::*;
use bulkhead_core::{Compartment, Outcome, RejectReason, Stats};
use opentelemetry::metrics::{AsyncInstrument, Histogram, Meter};
use opentelemetry::{KeyValue, Value};

/// The compartments whose stats the observable instruments report.
#[derive(Clone, Default)]
pub(crate) struct Compartments {
    list: Arc<RwLock<Vec<Arc<dyn Compartment>>>>,
}

impl Compartments {
    pub(crate) fn insert(&self, compartment: Arc<dyn Compartment>) {
        let mut list = self.list.write().unwrap_or_else(PoisonError::into_inner);
        list.retain(|c| c.name() != compartment.name());
        list.push(compartment);
    }

    pub(crate) fn remove(&self, name: &str) -> bool {
        let mut list = self.list.write().unwrap_or_else(PoisonError::into_inner);
        let before = list.len();
        list.retain(|c| c.name() != name);
        list.len() != before
    }

    pub(crate) fn names(&self) -> Vec<String> {
        self.snapshot()
            .iter()
            .map(|c| c.name().to_owned())
            .collect()
    }

    fn snapshot(&self) -> Vec<Arc<dyn Compartment>> {
        self.list
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every compartment's name attribute and stats, read once per callback.
    fn each(&self, mut f: impl FnMut(KeyValue, &Stats, &str)) {
        for c in self.snapshot() {
            let stats = c.stats();
            f(
                KeyValue::new(LABEL_BULKHEAD, Value::from(c.name().to_owned())),
                &stats,
                c.name(),
            );
        }
    }
}

/// The figures only some kinds have, as read for the collection numbered `collection`.
#[derive(Default)]
struct KindFigures {
    collection: u64,
    values: Vec<(KeyValue, &'static str, f64)>,
}

impl KindFigures {
    fn refresh(&mut self, compartments: &Compartments, collection: u64) {
        self.values.clear();
        for c in compartments.snapshot() {
            let label = KeyValue::new(LABEL_BULKHEAD, Value::from(c.name().to_owned()));
            c.report_figures(&mut |name, value| {
                self.values.push((label.clone(), name, value));
            });
        }
        self.collection = collection;
    }
}

/// An instrument fed from one figure of the stats: name, description, reader.
type Figure = (&'static str, &'static str, fn(&Stats) -> u64);

/// The observable instruments, kept alive with the observer.
pub(crate) type Observables = Vec<Box<dyn std::any::Any + Send + Sync>>;

/// The two per-call histograms, in seconds, with the buckets the Prometheus exporter
/// uses.
pub(crate) fn histograms(meter: &Meter) -> (Histogram<f64>, Histogram<f64>) {
    let histogram = |name: &'static str, description: &'static str| {
        meter
            .f64_histogram(name)
            .with_unit("s")
            .with_description(description)
            .with_boundaries(DURATION_BUCKETS_SECONDS.to_vec())
            .build()
    };
    (
        histogram(
            WAIT_DURATION_SECONDS,
            "Time admitted callers waited for a slot.",
        ),
        histogram(
            CALL_DURATION_SECONDS,
            "Time admitted calls held their slot.",
        ),
    )
}

/// Observable gauges and counters reading the registered compartments' stats at each
/// collection.
pub(crate) fn observables(meter: &Meter, compartments: &Compartments) -> Observables {
    let mut kept: Observables = Vec::new();

    let gauges: [Figure; 5] = [
        (AVAILABLE_PERMITS, "Free slots of the compartment.", |s| {
            s.available() as u64
        }),
        (ACTIVE_TASKS, "Slots held by admitted callers.", |s| {
            s.in_use as u64
        }),
        (CAPACITY, "Slots that exist now.", |s| s.capacity as u64),
        (TARGET_CAPACITY, "Configured slots.", |s| {
            s.target_capacity as u64
        }),
        (WAITING, "Callers waiting for a slot.", |s| s.waiting as u64),
    ];
    for (name, description, read) in gauges {
        let set = compartments.clone();
        kept.push(Box::new(
            meter
                .u64_observable_gauge(name)
                .with_unit("{slot}")
                .with_description(description)
                .with_callback(move |observer: &dyn AsyncInstrument<u64>| {
                    set.each(|name, stats, _| observer.observe(read(stats), &[name]));
                })
                .build(),
        ));
    }

    let counters: [Figure; 2] = [
        (ADMITTED_TOTAL, "Callers admitted.", |s| s.admitted),
        (
            ABANDONED_TOTAL,
            "Callers that gave up while waiting.",
            |s| s.abandoned,
        ),
    ];
    for (name, description, read) in counters {
        let set = compartments.clone();
        kept.push(Box::new(
            meter
                .u64_observable_counter(name)
                .with_unit("{call}")
                .with_description(description)
                .with_callback(move |observer: &dyn AsyncInstrument<u64>| {
                    set.each(|name, stats, _| observer.observe(read(stats), &[name]));
                })
                .build(),
        ));
    }

    let set = compartments.clone();
    kept.push(Box::new(
        meter
            .u64_observable_counter(REJECTIONS_TOTAL)
            .with_unit("{call}")
            .with_description("Callers refused, by reason.")
            .with_callback(move |observer: &dyn AsyncInstrument<u64>| {
                set.each(|name, stats, _| {
                    for (reason, count) in stats.rejected.by_label() {
                        let reason = KeyValue::new(LABEL_REASON, reason);
                        observer.observe(count, &[name.clone(), reason]);
                    }
                });
            })
            .build(),
    ));
    debug_assert_eq!(RejectReason::LABELS.len(), 4);

    let set = compartments.clone();
    kept.push(Box::new(
        meter
            .u64_observable_counter(CALLS_TOTAL)
            .with_unit("{call}")
            .with_description("Admitted calls finished, by outcome.")
            .with_callback(move |observer: &dyn AsyncInstrument<u64>| {
                set.each(|name, s, _| {
                    let counts = [s.completed, s.failed, s.panicked, s.cancelled];
                    for (outcome, count) in Outcome::ALL.iter().zip(counts) {
                        let outcome = KeyValue::new(LABEL_OUTCOME, outcome.as_str());
                        observer.observe(count, &[name.clone(), outcome]);
                    }
                });
            })
            .build(),
    ));

    let set = compartments.clone();
    kept.push(Box::new(
        meter
            .f64_observable_gauge(UTILIZATION)
            .with_description("Slots in use divided by the target capacity, at each collection.")
            .with_callback(move |observer: &dyn AsyncInstrument<f64>| {
                set.each(|name, stats, _| observer.observe(stats.utilization(), &[name]));
            })
            .build(),
    ));

    // The rejection rate over the interval between two collections, from two
    // snapshots, as the health monitor computes it over its interval.
    let set = compartments.clone();
    let previous: Mutex<HashMap<String, Stats>> = Mutex::new(HashMap::new());
    kept.push(Box::new(
        meter
            .f64_observable_gauge(REJECTION_RATE)
            .with_description(
                "Rejected divided by admitted plus rejected callers since the previous collection.",
            )
            .with_callback(move |observer: &dyn AsyncInstrument<f64>| {
                let mut previous = previous.lock().unwrap_or_else(PoisonError::into_inner);
                let mut seen = HashMap::new();
                set.each(|name, stats, key| {
                    let rate = match previous.get(key) {
                        Some(before) => stats.delta_since(before).rejection_rate(),
                        None => stats.rejection_rate(),
                    };
                    observer.observe(rate, &[name]);
                    seen.insert(key.to_owned(), *stats);
                });
                *previous = seen;
            })
            .build(),
    ));

    // Figures only some kinds have (a runtime's busy ratio, a pool's size), read
    // through `Compartment::report_figures`; compartments of other kinds report none.
    let kind_figures: [(&'static str, &'static str); 4] = [
        (
            RUNTIME_BUSY_RATIO,
            "Share of the runtime workers' time spent busy over the last sampling interval.",
        ),
        (
            RUNTIME_QUEUE_DEPTH,
            "Tasks waiting in the runtime's global queue.",
        ),
        (
            POOL_SIZE,
            "Connections the pool holds open, idle or in use.",
        ),
        (
            POOL_IDLE,
            "Open connections of the pool nobody has checked out.",
        ),
    ];
    debug_assert_eq!(kind_figures.len(), KIND_METRICS.len());
    // Read once per collection for all four gauges: reading can be a sample (a runtime
    // without a sampler takes one, covering the time since the previous one), so one
    // read per gauge would cost four samples and leave the later ones an interval of
    // almost nothing. Each callback runs once per collection, so its own call count
    // numbers the collection; the first callback of a collection refreshes the figures.
    let figures: Arc<Mutex<KindFigures>> = Arc::default();
    for (metric, description) in kind_figures {
        debug_assert!(KIND_METRICS.contains(&metric));
        let set = compartments.clone();
        let figures = Arc::clone(&figures);
        let calls = AtomicU64::new(0);
        kept.push(Box::new(
            meter
                .f64_observable_gauge(metric)
                .with_description(description)
                .with_callback(move |observer: &dyn AsyncInstrument<f64>| {
                    let collection = calls.fetch_add(1, Ordering::Relaxed) + 1;
                    let mut figures = figures.lock().unwrap_or_else(PoisonError::into_inner);
                    if figures.collection < collection {
                        figures.refresh(&set, collection);
                    }
                    for (label, name, value) in &figures.values {
                        if *name == metric {
                            observer.observe(*value, std::slice::from_ref(label));
                        }
                    }
                })
                .build(),
        ));
    }

    kept
}
