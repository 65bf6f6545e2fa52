//! The slot a checked-out connection holds in its compartment.

use std::fmt;

use bulkhead_core::Outcome;
use bulkhead_semaphore::{OwnedSemaphorePermit, SemaphorePermit};

/// A slot borrowed from the compartment (the cheapest: no reference count touched) or
/// owning a handle to it (for `'static` connections).
pub(crate) enum Slot<'a> {
    Borrowed(SemaphorePermit<'a>),
    Owned(OwnedSemaphorePermit),
}

impl Slot<'_> {
    #[inline]
    pub(crate) fn set_outcome(&mut self, outcome: Outcome) {
        match self {
            Slot::Borrowed(permit) => permit.set_outcome(outcome),
            Slot::Owned(permit) => permit.set_outcome(outcome),
        }
    }

    pub(crate) fn compartment(&self) -> &str {
        match self {
            Slot::Borrowed(permit) => permit.compartment(),
            Slot::Owned(permit) => permit.compartment(),
        }
    }
}

impl fmt::Debug for Slot<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Slot::Borrowed(permit) => fmt::Debug::fmt(permit, f),
            Slot::Owned(permit) => fmt::Debug::fmt(permit, f),
        }
    }
}
