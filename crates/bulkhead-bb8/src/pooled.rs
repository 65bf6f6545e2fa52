//! A connection checked out through a compartment.

use std::fmt;
use std::ops::{Deref, DerefMut};

use bb8::{ManageConnection, PooledConnection};
use bulkhead_core::{Outcome, Permit};
use bulkhead_pool::Slot;

/// A connection from the pool together with its slot in the compartment.
///
/// Borrows the compartment and the pool (from [`get`](crate::Bb8Bulkhead::get)) or is
/// `'static` (from [`get_owned`](crate::Bb8Bulkhead::get_owned)).
///
/// Dereferences to the connection. Dropping it first puts the connection back into the
/// pool (bb8 drops it instead when the manager's `has_broken` says so), then gives the
/// slot back; the compartment then reports the call as finished, with how long the slot
/// was held.
///
/// The call counts as [`Outcome::Ok`] unless [`set_outcome`](Pooled::set_outcome) or
/// [`record`](Pooled::record) said otherwise, or as [`Outcome::Panic`] when dropped
/// during a panic.
#[must_use = "the connection goes back to the pool as soon as it is dropped"]
pub struct Pooled<'a, M: ManageConnection> {
    conn: PooledConnection<'a, M>,
    // Dropped after `conn` went back: the next caller admitted finds it in the pool.
    slot: Slot<'a>,
}

impl<'a, M: ManageConnection> Pooled<'a, M> {
    pub(crate) fn new(conn: PooledConnection<'a, M>, slot: Slot<'a>) -> Self {
        Pooled { conn, slot }
    }

    /// Records how the work done with the connection ended; the last call wins.
    pub fn set_outcome(&mut self, outcome: Outcome) {
        self.slot.set_outcome(outcome);
    }

    /// Records the outcome of a result: [`Outcome::Ok`] for `Ok`, [`Outcome::Error`] for
    /// `Err`. Call it with the result of the work done with the connection.
    pub fn record<T, E>(&mut self, result: &Result<T, E>) {
        self.slot.record(result);
    }

    /// The name of the compartment the connection was checked out from.
    pub fn compartment(&self) -> &str {
        self.slot.compartment()
    }
}

impl<M: ManageConnection> Deref for Pooled<'_, M> {
    type Target = M::Connection;

    #[inline]
    fn deref(&self) -> &M::Connection {
        &self.conn
    }
}

impl<M: ManageConnection> DerefMut for Pooled<'_, M> {
    #[inline]
    fn deref_mut(&mut self) -> &mut M::Connection {
        &mut self.conn
    }
}

impl<M: ManageConnection> AsRef<M::Connection> for Pooled<'_, M> {
    fn as_ref(&self) -> &M::Connection {
        self
    }
}

impl<M: ManageConnection> AsMut<M::Connection> for Pooled<'_, M> {
    fn as_mut(&mut self) -> &mut M::Connection {
        self
    }
}

impl<M: ManageConnection> fmt::Debug for Pooled<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pooled")
            .field("compartment", &self.compartment())
            .field("slot", &self.slot)
            .finish()
    }
}

impl<M: ManageConnection> Permit for Pooled<'static, M> {
    fn set_outcome(&mut self, outcome: Outcome) {
        Pooled::set_outcome(self, outcome)
    }
}
