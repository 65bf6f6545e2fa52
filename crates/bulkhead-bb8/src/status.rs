//! The pool's own view of its connections.

/// What bb8 reports about its connections, beside the compartment's [`Stats`].
///
/// [`Stats`]: bulkhead_core::Stats
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStatus {
    /// The most connections the pool opens.
    pub max_size: usize,
    /// Connections open now, idle or checked out.
    pub size: usize,
    /// Connections in the pool, ready to be checked out.
    pub idle: usize,
    /// bb8's pending gets: gets started and not yet finished. bb8 never counts a get
    /// dropped before it finished (a cancelled checkout) as finished, so this drifts
    /// upwards after cancellations; callers waiting for a slot are exactly
    /// [`Stats::waiting`](bulkhead_core::Stats::waiting).
    pub pending_gets: u64,
    /// Connections opened, since the pool was built.
    pub created: u64,
    /// Connections dropped on return because the manager found them broken.
    pub closed_broken: u64,
    /// Connections dropped because they failed the check on checkout.
    pub closed_invalid: u64,
    /// Connections closed for reaching their maximum lifetime or idle timeout.
    pub closed_expired: u64,
    /// Gets that found no connection within the pool's `connection_timeout`.
    pub timed_out: u64,
}

impl PoolStatus {
    pub(crate) fn new(max_size: usize, state: bb8::State) -> Self {
        let s = state.statistics;
        PoolStatus {
            max_size,
            size: state.connections as usize,
            idle: state.idle_connections as usize,
            pending_gets: s.get_started.saturating_sub(s.completed_gets()),
            created: s.connections_created,
            closed_broken: s.connections_closed_broken,
            closed_invalid: s.connections_closed_invalid,
            closed_expired: s.connections_closed_max_lifetime + s.connections_closed_idle_timeout,
            timed_out: s.get_timed_out,
        }
    }
}
