//! Observers: where telemetry plugs into compartments.

use std::sync::Arc;

use crate::{Admitted, CompartmentInfo, Finished, Rejected};

/// Receives a compartment's events. Every hook does nothing by default.
///
/// A compartment calls its observer synchronously on the caller's path, exactly once
/// per event: once per admission, once per rejection, once per release. Hooks must be
/// cheap and must not block; anything slow belongs behind a channel.
///
/// A compartment with no observer attached reads no clock and calls nothing, so
/// admission costs nothing extra.
pub trait Observer: Send + Sync + 'static {
    /// A caller was given a slot after waiting `event.wait`.
    fn on_admitted(&self, info: &CompartmentInfo, event: &Admitted) {
        let _ = (info, event);
    }

    /// A caller was refused.
    fn on_rejected(&self, info: &CompartmentInfo, rejection: &Rejected) {
        let _ = (info, rejection);
    }

    /// An admitted caller gave its slot back.
    fn on_finished(&self, info: &CompartmentInfo, event: &Finished) {
        let _ = (info, event);
    }

    /// The compartment's target capacity changed from `from` to `to`.
    fn on_resized(&self, info: &CompartmentInfo, from: usize, to: usize) {
        let _ = (info, from, to);
    }

    /// The compartment was closed.
    fn on_closed(&self, info: &CompartmentInfo) {
        let _ = info;
    }
}

/// An observer shared by many compartments or handles.
pub type SharedObserver = Arc<dyn Observer>;

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopObserver;

impl Observer for NoopObserver {}

impl<O: Observer + ?Sized> Observer for Arc<O> {
    fn on_admitted(&self, info: &CompartmentInfo, event: &Admitted) {
        (**self).on_admitted(info, event)
    }
    fn on_rejected(&self, info: &CompartmentInfo, rejection: &Rejected) {
        (**self).on_rejected(info, rejection)
    }
    fn on_finished(&self, info: &CompartmentInfo, event: &Finished) {
        (**self).on_finished(info, event)
    }
    fn on_resized(&self, info: &CompartmentInfo, from: usize, to: usize) {
        (**self).on_resized(info, from, to)
    }
    fn on_closed(&self, info: &CompartmentInfo) {
        (**self).on_closed(info)
    }
}

impl<O: Observer> Observer for Vec<O> {
    fn on_admitted(&self, info: &CompartmentInfo, event: &Admitted) {
        self.iter().for_each(|o| o.on_admitted(info, event))
    }
    fn on_rejected(&self, info: &CompartmentInfo, rejection: &Rejected) {
        self.iter().for_each(|o| o.on_rejected(info, rejection))
    }
    fn on_finished(&self, info: &CompartmentInfo, event: &Finished) {
        self.iter().for_each(|o| o.on_finished(info, event))
    }
    fn on_resized(&self, info: &CompartmentInfo, from: usize, to: usize) {
        self.iter().for_each(|o| o.on_resized(info, from, to))
    }
    fn on_closed(&self, info: &CompartmentInfo) {
        self.iter().for_each(|o| o.on_closed(info))
    }
}

impl<A: Observer, B: Observer> Observer for (A, B) {
    fn on_admitted(&self, info: &CompartmentInfo, event: &Admitted) {
        self.0.on_admitted(info, event);
        self.1.on_admitted(info, event);
    }
    fn on_rejected(&self, info: &CompartmentInfo, rejection: &Rejected) {
        self.0.on_rejected(info, rejection);
        self.1.on_rejected(info, rejection);
    }
    fn on_finished(&self, info: &CompartmentInfo, event: &Finished) {
        self.0.on_finished(info, event);
        self.1.on_finished(info, event);
    }
    fn on_resized(&self, info: &CompartmentInfo, from: usize, to: usize) {
        self.0.on_resized(info, from, to);
        self.1.on_resized(info, from, to);
    }
    fn on_closed(&self, info: &CompartmentInfo) {
        self.0.on_closed(info);
        self.1.on_closed(info);
    }
}
