//! The pool's own view of its objects.

/// What the pool reports about its objects, beside the compartment's [`Stats`].
///
/// Taken from deadpool's [`Status`](deadpool::Status), which is eventually consistent:
/// under load the figures can be off by the checkouts in flight.
///
/// [`Stats`]: bulkhead_core::Stats
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStatus {
    /// The most objects the pool holds (0 once closed).
    pub max_size: usize,
    /// Objects that exist now, idle or checked out.
    pub size: usize,
    /// Objects in the pool, ready to be checked out.
    pub idle: usize,
    /// Checkouts inside the pool that have no object yet: with the compartment in front,
    /// those creating or recycling one (callers waiting for a slot are
    /// [`Stats::waiting`](bulkhead_core::Stats::waiting)).
    pub waiting: usize,
}

impl From<deadpool::Status> for PoolStatus {
    fn from(status: deadpool::Status) -> Self {
        PoolStatus {
            max_size: status.max_size,
            size: status.size,
            idle: status.available,
            waiting: status.waiting,
        }
    }
}
