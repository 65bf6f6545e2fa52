//! Metric and attribute names, in one place.
//!
//! The Prometheus exporter, the OpenTelemetry exporter, the Grafana dashboard and the
//! docs all use these constants, so they cannot drift apart. Prometheus names keep those
//! of the original bulkhead guide, whose dashboard queries them.

/// Label naming the compartment on every metric: `bulkhead="payments"`.
pub const LABEL_BULKHEAD: &str = "bulkhead";
/// Label naming the compartment kind: `kind="semaphore"`.
pub const LABEL_KIND: &str = "kind";
/// Label naming a rejection reason: `reason="timeout"` (see
/// [`RejectReason::as_str`](crate::RejectReason::as_str)).
pub const LABEL_REASON: &str = "reason";
/// Label naming a call outcome: `outcome="ok"` (see
/// [`Outcome::as_str`](crate::Outcome::as_str)).
pub const LABEL_OUTCOME: &str = "outcome";

/// Gauge: free slots (`capacity - in_use`).
pub const AVAILABLE_PERMITS: &str = "bulkhead_available_permits";
/// Gauge: slots held by admitted callers.
pub const ACTIVE_TASKS: &str = "bulkhead_active_tasks";
/// Gauge: slots that exist right now (converges to the target after a shrink).
pub const CAPACITY: &str = "bulkhead_capacity";
/// Gauge: configured number of slots.
pub const TARGET_CAPACITY: &str = "bulkhead_target_capacity";
/// Gauge: callers waiting for a slot.
pub const WAITING: &str = "bulkhead_waiting";
/// Gauge: in use divided by target capacity, averaged over the samples the health
/// monitor takes during its interval.
pub const UTILIZATION: &str = "bulkhead_utilization";
/// Gauge: rejected divided by decided requests (admitted plus rejected) over the health
/// interval.
pub const REJECTION_RATE: &str = "bulkhead_rejection_rate";
/// Counter: callers admitted.
pub const ADMITTED_TOTAL: &str = "bulkhead_admitted_total";
/// Counter: callers refused, labelled by `reason`.
pub const REJECTIONS_TOTAL: &str = "bulkhead_rejections_total";
/// Counter: callers that gave up (dropped their request) while waiting for a slot.
pub const ABANDONED_TOTAL: &str = "bulkhead_abandoned_total";
/// Counter: admitted calls finished, labelled by `outcome`.
pub const CALLS_TOTAL: &str = "bulkhead_calls_total";
/// Histogram: seconds admitted callers waited for a slot.
pub const WAIT_DURATION_SECONDS: &str = "bulkhead_wait_duration_seconds";
/// Histogram: seconds admitted calls held their slot.
pub const CALL_DURATION_SECONDS: &str = "bulkhead_call_duration_seconds";

/// Gauge (runtime kind): share of the runtime workers' time spent busy over the last
/// sampling interval, in `0..=1`.
pub const RUNTIME_BUSY_RATIO: &str = "bulkhead_runtime_busy_ratio";
/// Gauge (runtime kind): tasks waiting in the runtime's global queue for a worker.
pub const RUNTIME_QUEUE_DEPTH: &str = "bulkhead_runtime_queue_depth";
/// Gauge (pool kinds): connections the pool holds open, idle or in use.
pub const POOL_SIZE: &str = "bulkhead_pool_size";
/// Gauge (pool kinds): open connections nobody has checked out.
pub const POOL_IDLE: &str = "bulkhead_pool_idle";

/// Every metric name above, for documentation checks and exporters.
pub const ALL_METRICS: &[&str] = &[
    AVAILABLE_PERMITS,
    ACTIVE_TASKS,
    CAPACITY,
    TARGET_CAPACITY,
    WAITING,
    UTILIZATION,
    REJECTION_RATE,
    ADMITTED_TOTAL,
    REJECTIONS_TOTAL,
    ABANDONED_TOTAL,
    CALLS_TOTAL,
    WAIT_DURATION_SECONDS,
    CALL_DURATION_SECONDS,
    RUNTIME_BUSY_RATIO,
    RUNTIME_QUEUE_DEPTH,
    POOL_SIZE,
    POOL_IDLE,
];

/// Metrics every compartment has, whatever its kind.
pub const COMMON_METRICS: &[&str] = &[
    AVAILABLE_PERMITS,
    ACTIVE_TASKS,
    CAPACITY,
    TARGET_CAPACITY,
    WAITING,
    UTILIZATION,
    REJECTION_RATE,
    ADMITTED_TOTAL,
    REJECTIONS_TOTAL,
    ABANDONED_TOTAL,
    CALLS_TOTAL,
    WAIT_DURATION_SECONDS,
    CALL_DURATION_SECONDS,
];

/// Metrics only some kinds report: the runtime kind's busy ratio and queue depth, the
/// pool kinds' size and idle connections.
pub const KIND_METRICS: &[&str] = &[
    RUNTIME_BUSY_RATIO,
    RUNTIME_QUEUE_DEPTH,
    POOL_SIZE,
    POOL_IDLE,
];

/// Upper bounds, in seconds, of the buckets of both duration histograms
/// ([`WAIT_DURATION_SECONDS`], [`CALL_DURATION_SECONDS`]), shared by the Prometheus and
/// OpenTelemetry exporters: from half a millisecond to thirty seconds.
pub const DURATION_BUCKETS_SECONDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Name of the span recorded for each guarded call.
pub const SPAN_NAME: &str = "bulkhead.call";

/// Span attribute: compartment name.
pub const ATTR_NAME: &str = "bulkhead.name";
/// Span attribute: compartment kind.
pub const ATTR_TYPE: &str = "bulkhead.type";
/// Span attribute: milliseconds waited for a slot.
pub const ATTR_WAIT_MS: &str = "bulkhead.wait_ms";
/// Span attribute: milliseconds the slot was held.
pub const ATTR_DURATION_MS: &str = "bulkhead.duration_ms";
/// Span attribute: `success`, `error` or `rejected`.
pub const ATTR_RESULT: &str = "bulkhead.result";
/// Span attribute: what went wrong in an admitted call that did not succeed: `error`,
/// `panic` or `cancelled` (see [`Outcome::as_str`](crate::Outcome::as_str)), or the
/// message the call recorded.
pub const ATTR_ERROR: &str = "bulkhead.error";
/// Span attribute: why a call was rejected.
pub const ATTR_REJECTION_REASON: &str = "bulkhead.rejection_reason";

/// Every span attribute name above.
pub const ALL_ATTRIBUTES: &[&str] = &[
    ATTR_NAME,
    ATTR_TYPE,
    ATTR_WAIT_MS,
    ATTR_DURATION_MS,
    ATTR_RESULT,
    ATTR_ERROR,
    ATTR_REJECTION_REASON,
];
