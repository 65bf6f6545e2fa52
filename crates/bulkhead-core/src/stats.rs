//! Snapshots of a compartment's occupancy and counters.

use crate::RejectReason;

/// Rejections by reason, monotonic since the compartment was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RejectionCounts {
    /// Refused because no slot was free and waiting was not allowed.
    pub full: u64,
    /// Refused because the wait queue was full.
    pub queue_full: u64,
    /// Refused after waiting as long as allowed.
    pub timeout: u64,
    /// Refused because the compartment was closed.
    pub closed: u64,
}

impl RejectionCounts {
    /// All rejections together.
    pub fn total(&self) -> u64 {
        self.full + self.queue_full + self.timeout + self.closed
    }

    /// The count for one reason.
    pub fn get(&self, reason: RejectReason) -> u64 {
        match reason {
            RejectReason::Full => self.full,
            RejectReason::QueueFull => self.queue_full,
            RejectReason::Timeout { .. } => self.timeout,
            RejectReason::Closed => self.closed,
        }
    }

    /// `(label, count)` pairs in the order of [`RejectReason::LABELS`].
    pub fn by_label(&self) -> [(&'static str, u64); 4] {
        [
            ("full", self.full),
            ("queue_full", self.queue_full),
            ("timeout", self.timeout),
            ("closed", self.closed),
        ]
    }
}

/// A snapshot of one compartment.
///
/// Gauges (`capacity`, `in_use`, `waiting`) describe the moment of the snapshot;
/// counters are monotonic since the compartment was built. Rates such as utilisation
/// over an interval are derived from two snapshots with [`Stats::delta_since`], never
/// invented.
///
/// Once the compartment is quiet (nothing in use, nobody waiting) the counters add up:
/// `attempts() == admitted + rejected.total() + abandoned` and
/// `admitted == completed + failed + panicked + cancelled`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Slots that exist right now (free plus in use). After a shrink this converges to
    /// `target_capacity` as slots come back.
    pub capacity: usize,
    /// The configured number of slots.
    pub target_capacity: usize,
    /// Slots held by admitted callers.
    pub in_use: usize,
    /// Callers waiting for a slot.
    pub waiting: usize,
    /// The bound on waiting callers (0 when the compartment never lets callers wait).
    pub max_waiting: usize,
    /// Callers admitted.
    pub admitted: u64,
    /// Callers refused, by reason.
    pub rejected: RejectionCounts,
    /// Callers that gave up (dropped their request) while waiting for a slot.
    pub abandoned: u64,
    /// Admitted calls that finished successfully.
    pub completed: u64,
    /// Admitted calls that finished with an error.
    pub failed: u64,
    /// Admitted calls that panicked.
    pub panicked: u64,
    /// Admitted calls dropped by their caller before finishing.
    pub cancelled: u64,
    /// Whether the compartment refuses all new callers.
    pub closed: bool,
}

impl Stats {
    /// Free slots: `capacity - in_use`, never below zero.
    pub fn available(&self) -> usize {
        self.capacity.saturating_sub(self.in_use)
    }

    /// Every admission request that has been decided: admitted, rejected, or abandoned
    /// by its caller while waiting.
    pub fn attempts(&self) -> u64 {
        self.admitted + self.rejected.total() + self.abandoned
    }

    /// Admitted calls that have given their slot back.
    pub fn finished(&self) -> u64 {
        self.completed + self.failed + self.panicked + self.cancelled
    }

    /// Share of the target capacity in use at the moment of the snapshot, in `0..=1`
    /// (above 1 only while a shrink is still converging).
    pub fn utilization(&self) -> f64 {
        if self.target_capacity == 0 {
            0.0
        } else {
            self.in_use as f64 / self.target_capacity as f64
        }
    }

    /// The counters accumulated between `earlier` and `self`; gauges are `self`'s.
    ///
    /// Use it to derive rates over an interval, such as the rejection rate.
    pub fn delta_since(&self, earlier: &Stats) -> Stats {
        Stats {
            admitted: self.admitted.saturating_sub(earlier.admitted),
            rejected: RejectionCounts {
                full: self.rejected.full.saturating_sub(earlier.rejected.full),
                queue_full: self
                    .rejected
                    .queue_full
                    .saturating_sub(earlier.rejected.queue_full),
                timeout: self
                    .rejected
                    .timeout
                    .saturating_sub(earlier.rejected.timeout),
                closed: self.rejected.closed.saturating_sub(earlier.rejected.closed),
            },
            abandoned: self.abandoned.saturating_sub(earlier.abandoned),
            completed: self.completed.saturating_sub(earlier.completed),
            failed: self.failed.saturating_sub(earlier.failed),
            panicked: self.panicked.saturating_sub(earlier.panicked),
            cancelled: self.cancelled.saturating_sub(earlier.cancelled),
            ..*self
        }
    }

    /// Share of decided requests (admitted or rejected) that were rejected, in `0..=1`;
    /// zero when there were none.
    ///
    /// On a [`delta_since`](Stats::delta_since) result this is the rejection rate over
    /// that interval.
    pub fn rejection_rate(&self) -> f64 {
        let decided = self.admitted + self.rejected.total();
        if decided == 0 {
            0.0
        } else {
            self.rejected.total() as f64 / decided as f64
        }
    }
}

/// Every counter, and the derived `total`.
#[cfg(feature = "serde")]
impl serde::Serialize for RejectionCounts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut s = serializer.serialize_struct("RejectionCounts", 5)?;
        s.serialize_field("full", &self.full)?;
        s.serialize_field("queue_full", &self.queue_full)?;
        s.serialize_field("timeout", &self.timeout)?;
        s.serialize_field("closed", &self.closed)?;
        s.serialize_field("total", &self.total())?;
        s.end()
    }
}

/// Every field, and the derived `available` and `utilization`, for JSON endpoints such
/// as `/bulkheads`.
///
/// ```
/// let stats = bulkhead_core::Stats::default();
/// let json = serde_json::to_value(stats).unwrap();
/// assert_eq!(json["available"], 0);
/// assert_eq!(json["rejected"]["total"], 0);
/// ```
#[cfg(feature = "serde")]
impl serde::Serialize for Stats {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut s = serializer.serialize_struct("Stats", 15)?;
        s.serialize_field("capacity", &self.capacity)?;
        s.serialize_field("target_capacity", &self.target_capacity)?;
        s.serialize_field("in_use", &self.in_use)?;
        s.serialize_field("available", &self.available())?;
        s.serialize_field("waiting", &self.waiting)?;
        s.serialize_field("max_waiting", &self.max_waiting)?;
        s.serialize_field("utilization", &self.utilization())?;
        s.serialize_field("admitted", &self.admitted)?;
        s.serialize_field("rejected", &self.rejected)?;
        s.serialize_field("abandoned", &self.abandoned)?;
        s.serialize_field("completed", &self.completed)?;
        s.serialize_field("failed", &self.failed)?;
        s.serialize_field("panicked", &self.panicked)?;
        s.serialize_field("cancelled", &self.cancelled)?;
        s.serialize_field("closed", &self.closed)?;
        s.end()
    }
}
