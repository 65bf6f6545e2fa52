//! A cheap monotonic clock for wait and hold times.

use std::time::Duration;

/// A monotonic point in time, read only when an observer will use it.
///
/// Backed by [`quanta`]'s calibrated counter, which costs a fraction of
/// [`std::time::Instant::now`] on most machines. Compartments read it at admission and at
/// release only when an [`Observer`](crate::Observer) is attached, or when a wait has to
/// be measured for a rejection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(quanta::Instant);

impl Timestamp {
    /// Reads the clock.
    #[inline]
    pub fn now() -> Self {
        Timestamp(quanta::Instant::now())
    }

    /// Time elapsed since `self`, saturating at zero.
    #[inline]
    pub fn elapsed(self) -> Duration {
        Self::now().0.saturating_duration_since(self.0)
    }

    /// Time from `earlier` to `self`, saturating at zero.
    #[inline]
    pub fn duration_since(self, earlier: Timestamp) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }
}
