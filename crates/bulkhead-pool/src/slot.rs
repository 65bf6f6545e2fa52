//! The slot a checked-out connection holds in its compartment.

use std::fmt;

use bulkhead_core::{CallError, Outcome};
use bulkhead_semaphore::{OwnedSemaphorePermit, SemaphorePermit};

/// A slot of a pool compartment, held by one checked-out connection.
///
/// Borrowed from the compartment (the cheapest: no reference count touched) or owning
/// a handle to it (for `'static` connections). Dropping it gives the slot back and
/// reports the call as finished with the outcome last recorded ([`Outcome::Ok`]
/// unless said otherwise, [`Outcome::Panic`] when dropped during a panic).
///
/// An adapter takes a slot from its [`PoolGate`](crate::PoolGate), calls
/// [`checking_out`](Slot::checking_out) while the pool hands out a connection, and
/// [`finish`](Slot::finish) with what the pool returned.
pub enum Slot<'a> {
    /// A slot that borrows its compartment.
    Borrowed(SemaphorePermit<'a>),
    /// A slot that owns a handle to its compartment.
    Owned(OwnedSemaphorePermit),
}

impl<'a> Slot<'a> {
    /// Records how the work done in this slot ended; the last call wins.
    #[inline]
    pub fn set_outcome(&mut self, outcome: Outcome) {
        match self {
            Slot::Borrowed(permit) => permit.set_outcome(outcome),
            Slot::Owned(permit) => permit.set_outcome(outcome),
        }
    }

    /// Records the outcome of a result: [`Outcome::Ok`] for `Ok`, [`Outcome::Error`] for
    /// `Err`.
    #[inline]
    pub fn record<T, E>(&mut self, result: &Result<T, E>) {
        self.set_outcome(match result {
            Ok(_) => Outcome::Ok,
            Err(_) => Outcome::Error,
        });
    }

    /// The name of the compartment the slot belongs to.
    pub fn compartment(&self) -> &str {
        match self {
            Slot::Borrowed(permit) => permit.compartment(),
            Slot::Owned(permit) => permit.compartment(),
        }
    }

    /// Marks the slot while the pool recycles or opens a connection: dropped now (the
    /// checkout's future was dropped), the call counts as cancelled.
    #[inline]
    pub fn checking_out(&mut self) {
        self.set_outcome(Outcome::Cancelled);
    }

    /// Ends a checkout with what the pool returned: a connection is wrapped with the
    /// slot by `wrap`, and the call is under way ([`Outcome::Ok`] until recorded
    /// otherwise); a pool error gives the slot back at once as a failed call and comes
    /// back as [`CallError::Backend`], turned into the adapter's error by `error`.
    ///
    /// The pool's result is matched here once: mapping its error beforehand would
    /// rebuild the whole result, connection included, in a new layout, which measurably
    /// slows every successful checkout.
    #[inline]
    pub fn finish<T, E, F, P>(
        mut self,
        result: Result<T, E>,
        wrap: impl FnOnce(T, Slot<'a>) -> P,
        error: impl FnOnce(E) -> F,
    ) -> Result<P, CallError<F>> {
        match result {
            Ok(connection) => {
                self.set_outcome(Outcome::Ok);
                Ok(wrap(connection, self))
            }
            Err(e) => {
                self.set_outcome(Outcome::Error);
                drop(self);
                Err(CallError::Backend(error(e)))
            }
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
