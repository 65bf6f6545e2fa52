//! The per-call part: an observer recording the two distributions.

use std::fmt;
use std::sync::Arc;

use bulkhead_core::names::{CALL_DURATION_SECONDS, LABEL_BULKHEAD, WAIT_DURATION_SECONDS};
use bulkhead_core::{Admitted, CompartmentInfo, Finished, Observer};
use metrics::Label;

use crate::describe::describe;
use crate::histogram::BucketedDurations;

/// Records how long each caller of one compartment waited and held its slot.
///
/// Created by [`BulkheadMetrics::observer`](crate::BulkheadMetrics::observer) and
/// attached to one compartment at build time. Its two histograms
/// (`bulkhead_wait_duration_seconds` and `bulkhead_call_duration_seconds`, labelled
/// `bulkhead="<name>"`) are registered once, with the recorder current when it is
/// created. A call adds its wait and its hold time to fixed buckets with relaxed atomic
/// additions (no key lookup, no allocation, no lock); the buckets are handed to the
/// recorder when the metrics are published, at scrape time, like everything else a
/// compartment counts.
///
/// The buckets are those of
/// [`DURATION_BUCKETS_SECONDS`](bulkhead_core::names::DURATION_BUCKETS_SECONDS): a
/// recorder configured with the same buckets (as `bulkhead_metrics::prometheus` does)
/// exposes exactly the counts and sums that recording each sample would have given.
pub struct MetricsObserver {
    name: Arc<str>,
    pub(crate) wait: BucketedDurations,
    pub(crate) held: BucketedDurations,
}

impl MetricsObserver {
    /// An observer for the compartment called `name`, registering its histograms with
    /// the current recorder.
    pub(crate) fn new(name: Arc<str>) -> Self {
        describe();
        let labels = || vec![Label::new(LABEL_BULKHEAD, name.to_string())];
        MetricsObserver {
            wait: BucketedDurations::new(metrics::histogram!(WAIT_DURATION_SECONDS, labels())),
            held: BucketedDurations::new(metrics::histogram!(CALL_DURATION_SECONDS, labels())),
            name,
        }
    }

    /// Hands the durations recorded since the last flush to the recorder.
    pub(crate) fn flush(&self) {
        self.wait.flush();
        self.held.flush();
    }

    /// The name of the compartment this observer records.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Observer for MetricsObserver {
    #[inline]
    fn on_admitted(&self, info: &CompartmentInfo, event: &Admitted) {
        debug_assert_eq!(
            info.name(),
            &*self.name,
            "one MetricsObserver per compartment"
        );
        self.wait.record(event.wait);
    }

    #[inline]
    fn on_finished(&self, info: &CompartmentInfo, event: &Finished) {
        debug_assert_eq!(
            info.name(),
            &*self.name,
            "one MetricsObserver per compartment"
        );
        self.held.record(event.held);
    }
}

impl fmt::Debug for MetricsObserver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsObserver")
            .field("name", &&*self.name)
            .finish_non_exhaustive()
    }
}
