//! Descriptions and units of every metric, for `# HELP` lines.

use bulkhead_core::names::*;
use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};

/// Describes every metric to the current recorder. Cheap and idempotent; called when
/// handles are registered, never per call.
pub(crate) fn describe() {
    describe_gauge!(
        AVAILABLE_PERMITS,
        Unit::Count,
        "Free slots of the compartment (capacity - in use)."
    );
    describe_gauge!(
        ACTIVE_TASKS,
        Unit::Count,
        "Slots of the compartment held by admitted callers."
    );
    describe_gauge!(
        CAPACITY,
        Unit::Count,
        "Slots of the compartment that exist now; converges to the target after a shrink."
    );
    describe_gauge!(
        TARGET_CAPACITY,
        Unit::Count,
        "Configured slots of the compartment."
    );
    describe_gauge!(
        WAITING,
        Unit::Count,
        "Callers waiting for a slot of the compartment."
    );
    describe_gauge!(
        UTILIZATION,
        Unit::Count,
        "Slots in use divided by the target capacity, averaged over the health interval."
    );
    describe_gauge!(
        REJECTION_RATE,
        Unit::Count,
        "Rejected divided by admitted plus rejected callers over the health interval."
    );
    describe_counter!(
        ADMITTED_TOTAL,
        Unit::Count,
        "Callers admitted by the compartment."
    );
    describe_counter!(
        REJECTIONS_TOTAL,
        Unit::Count,
        "Callers refused by the compartment, by reason."
    );
    describe_counter!(
        ABANDONED_TOTAL,
        Unit::Count,
        "Callers that gave up while waiting for a slot."
    );
    describe_counter!(
        CALLS_TOTAL,
        Unit::Count,
        "Admitted calls finished, by outcome."
    );
    describe_histogram!(
        WAIT_DURATION_SECONDS,
        Unit::Seconds,
        "Time admitted callers waited for a slot."
    );
    describe_histogram!(
        CALL_DURATION_SECONDS,
        Unit::Seconds,
        "Time admitted calls held their slot."
    );
    describe_gauge!(
        RUNTIME_BUSY_RATIO,
        Unit::Count,
        "Share of the runtime workers' time spent busy over the last sampling interval."
    );
    describe_gauge!(
        RUNTIME_QUEUE_DEPTH,
        Unit::Count,
        "Tasks waiting in the runtime's global queue."
    );
    describe_gauge!(
        POOL_SIZE,
        Unit::Count,
        "Connections the pool holds open, idle or in use."
    );
    describe_gauge!(
        POOL_IDLE,
        Unit::Count,
        "Open connections of the pool nobody has checked out."
    );
}
