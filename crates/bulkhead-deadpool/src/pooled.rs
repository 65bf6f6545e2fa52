//! An object checked out through a compartment.

use std::fmt;
use std::ops::{Deref, DerefMut};

use bulkhead_core::{Outcome, Permit};
use bulkhead_pool::Slot;
use deadpool::managed::{Manager, Object};

use crate::bulkhead::DiscardIf;

/// An object from the pool together with its slot in the compartment.
///
/// Borrows the compartment (from [`get`](crate::DeadpoolBulkhead::get)) or is
/// `'static` (from [`get_owned`](crate::DeadpoolBulkhead::get_owned)).
///
/// Dereferences to the pooled object. Dropping it first puts the object back into the
/// pool (or drops it, when the compartment's `discard_if` check says it is broken), then
/// gives the slot back; the compartment then reports the call as finished, with how long
/// the slot was held.
///
/// The call counts as [`Outcome::Ok`] unless [`set_outcome`](Pooled::set_outcome) or
/// [`record`](Pooled::record) said otherwise, or as [`Outcome::Panic`] when dropped
/// during a panic.
#[must_use = "the object goes back to the pool as soon as it is dropped"]
pub struct Pooled<'a, M: Manager> {
    object: Option<Object<M>>,
    discard: Option<DiscardIf<M::Type>>,
    // Dropped after `object` went back: the next caller admitted finds it in the pool.
    slot: Slot<'a>,
}

impl<'a, M: Manager> Pooled<'a, M> {
    pub(crate) fn new(
        object: Object<M>,
        slot: Slot<'a>,
        discard: Option<DiscardIf<M::Type>>,
    ) -> Self {
        Pooled {
            object: Some(object),
            discard,
            slot,
        }
    }

    /// Records how the work done with the object ended; the last call wins.
    pub fn set_outcome(&mut self, outcome: Outcome) {
        self.slot.set_outcome(outcome);
    }

    /// Records the outcome of a result: [`Outcome::Ok`] for `Ok`, [`Outcome::Error`] for
    /// `Err`. Call it with the result of the work done with the object.
    pub fn record<T, E>(&mut self, result: &Result<T, E>) {
        self.slot.record(result);
    }

    /// The name of the compartment the object was checked out from.
    pub fn compartment(&self) -> &str {
        self.slot.compartment()
    }

    /// The deadpool object, for [`Object::id`] and [`Object::metrics`].
    pub fn object(&self) -> &Object<M> {
        self.object.as_ref().expect("object present until drop")
    }

    /// Takes the object out of the pool for good and gives the slot back: the pool
    /// creates a new object when it next needs one.
    pub fn detach(mut self) -> M::Type {
        let object = self.object.take().expect("object present until drop");
        Object::take(object)
    }
}

impl<M: Manager> Drop for Pooled<'_, M> {
    #[inline]
    fn drop(&mut self) {
        if let Some(object) = self.object.take() {
            match self.discard {
                Some(broken) if broken(&object) => drop(Object::take(object)),
                _ => drop(object),
            }
        }
    }
}

impl<M: Manager> Deref for Pooled<'_, M> {
    type Target = M::Type;

    #[inline]
    fn deref(&self) -> &M::Type {
        self.object.as_ref().expect("object present until drop")
    }
}

impl<M: Manager> DerefMut for Pooled<'_, M> {
    #[inline]
    fn deref_mut(&mut self) -> &mut M::Type {
        self.object.as_mut().expect("object present until drop")
    }
}

impl<M: Manager> AsRef<M::Type> for Pooled<'_, M> {
    fn as_ref(&self) -> &M::Type {
        self
    }
}

impl<M: Manager> AsMut<M::Type> for Pooled<'_, M> {
    fn as_mut(&mut self) -> &mut M::Type {
        self
    }
}

impl<M: Manager> fmt::Debug for Pooled<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pooled")
            .field("compartment", &self.compartment())
            .field("id", &self.object.as_ref().map(Object::id))
            .field("slot", &self.slot)
            .finish()
    }
}

impl<M> Permit for Pooled<'static, M>
where
    M: Manager + 'static,
    M::Type: 'static,
{
    fn set_outcome(&mut self, outcome: Outcome) {
        Pooled::set_outcome(self, outcome)
    }
}
