//! Figures only some compartment kinds have.

/// Figures a compartment kind has beyond [`Stats`](bulkhead_core::Stats), published
/// as gauges beside the common ones.
///
/// The runtime kind has a busy ratio and a queue depth, the pool kinds a size and a
/// number of idle connections. Kinds report them through
/// [`Compartment::report_figures`](bulkhead_core::Compartment::report_figures), which
/// [`BulkheadMetrics::register`](crate::BulkheadMetrics::register) reads; a closure
/// passed to [`register_with`](crate::BulkheadMetrics::register_with) replaces it.
/// Every name must be one of
/// [`names::KIND_METRICS`](bulkhead_core::names::KIND_METRICS).
///
/// ```
/// use bulkhead_core::names;
/// use bulkhead_metrics::KindFigures;
///
/// // What a pool compartment would report (read from its pool status).
/// let figures = |report: &mut dyn FnMut(&'static str, f64)| {
///     report(names::POOL_SIZE, 8.0);
///     report(names::POOL_IDLE, 3.0);
/// };
/// let mut seen = Vec::new();
/// figures.figures(&mut |name, value| seen.push((name, value)));
/// assert_eq!(seen, [("bulkhead_pool_size", 8.0), ("bulkhead_pool_idle", 3.0)]);
/// ```
pub trait KindFigures: Send + Sync + 'static {
    /// Calls `report` once per figure with its metric name and current value.
    ///
    /// Called when metrics are published (at scrape time or on an interval), never on
    /// a call's path.
    fn figures(&self, report: &mut dyn FnMut(&'static str, f64));
}

impl<F> KindFigures for F
where
    F: Fn(&mut dyn FnMut(&'static str, f64)) + Send + Sync + 'static,
{
    fn figures(&self, report: &mut dyn FnMut(&'static str, f64)) {
        self(report)
    }
}
