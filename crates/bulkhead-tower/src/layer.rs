//! The layer that wraps services in a compartment.

use tower_layer::Layer;

use crate::Bulkhead;

/// Puts a compartment in front of services: every request needs a slot.
///
/// Each layered service shares the one compartment the layer was built with, so one
/// layer applied to several routes bounds them together; give each route its own layer
/// (and compartment) to isolate them from each other.
///
/// See the [crate documentation](crate) for an example.
#[derive(Clone, Debug)]
pub struct BulkheadLayer<C> {
    compartment: C,
}

impl<C> BulkheadLayer<C> {
    /// A layer admitting requests through `compartment`.
    pub fn new(compartment: C) -> Self {
        BulkheadLayer { compartment }
    }

    /// The compartment requests go through.
    pub fn compartment(&self) -> &C {
        &self.compartment
    }
}

impl<S, C: Clone> Layer<S> for BulkheadLayer<C> {
    type Service = Bulkhead<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        Bulkhead::new(inner, self.compartment.clone())
    }
}
