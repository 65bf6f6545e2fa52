//! RAII permits of a semaphore compartment.

use std::fmt;
use std::sync::Arc;

use bulkhead_core::{Outcome, Permit, Timestamp};

use crate::semaphore::Inner;

/// What a permit remembers until it is dropped.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Held {
    /// When the slot was taken; read only when an observer will use it.
    pub(crate) since: Option<Timestamp>,
    /// How the guarded work ended, when known.
    pub(crate) outcome: Recorded,
}

/// The outcome recorded on a permit, word-sized so permits move as whole words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub(crate) enum Recorded {
    /// Nothing recorded: a plain drop counts as a success.
    Nothing,
    /// An outcome was recorded.
    Ok,
    Error,
    Panic,
    Cancelled,
}

impl Recorded {
    pub(crate) fn outcome(self) -> Outcome {
        match self {
            Recorded::Nothing | Recorded::Ok => Outcome::Ok,
            Recorded::Error => Outcome::Error,
            Recorded::Panic => Outcome::Panic,
            Recorded::Cancelled => Outcome::Cancelled,
        }
    }
}

impl From<Outcome> for Recorded {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Ok => Recorded::Ok,
            Outcome::Error => Recorded::Error,
            Outcome::Panic => Recorded::Panic,
            Outcome::Cancelled => Recorded::Cancelled,
        }
    }
}

/// A slot in a [`SemaphoreBulkhead`](crate::SemaphoreBulkhead), borrowed from it.
///
/// Dropping the permit releases the slot. The release is counted as
/// [`Outcome::Ok`] unless [`set_outcome`](SemaphorePermit::set_outcome) said otherwise,
/// or as [`Outcome::Panic`] when the permit is dropped during a panic.
#[must_use = "the slot is released as soon as the permit is dropped"]
pub struct SemaphorePermit<'a> {
    pub(crate) inner: &'a Inner,
    pub(crate) held: Held,
}

impl SemaphorePermit<'_> {
    /// Records how the guarded work ended; the last call wins.
    pub fn set_outcome(&mut self, outcome: Outcome) {
        self.held.outcome = outcome.into();
    }

    /// The name of the compartment the slot belongs to.
    pub fn compartment(&self) -> &str {
        self.inner.info.name()
    }
}

impl Drop for SemaphorePermit<'_> {
    #[inline]
    fn drop(&mut self) {
        self.inner.finish(self.held);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("compartment", &self.inner.info.name())
            .field("outcome", &self.held.outcome)
            .finish()
    }
}

/// A slot in a [`SemaphoreBulkhead`](crate::SemaphoreBulkhead) that keeps the
/// compartment alive: `'static`, for spawned tasks and tower services.
///
/// Behaves like [`SemaphorePermit`] on drop.
#[must_use = "the slot is released as soon as the permit is dropped"]
pub struct OwnedSemaphorePermit {
    pub(crate) inner: Arc<Inner>,
    pub(crate) held: Held,
}

impl OwnedSemaphorePermit {
    /// Records how the guarded work ended; the last call wins.
    pub fn set_outcome(&mut self, outcome: Outcome) {
        self.held.outcome = outcome.into();
    }

    /// The name of the compartment the slot belongs to.
    pub fn compartment(&self) -> &str {
        self.inner.info.name()
    }
}

impl Drop for OwnedSemaphorePermit {
    #[inline]
    fn drop(&mut self) {
        self.inner.finish(self.held);
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("compartment", &self.inner.info.name())
            .field("outcome", &self.held.outcome)
            .finish()
    }
}

impl Permit for OwnedSemaphorePermit {
    fn set_outcome(&mut self, outcome: Outcome) {
        OwnedSemaphorePermit::set_outcome(self, outcome)
    }
}

impl Permit for SemaphorePermit<'static> {
    fn set_outcome(&mut self, outcome: Outcome) {
        SemaphorePermit::set_outcome(self, outcome)
    }
}
