//! Helpers shared by the integration tests.
#![allow(dead_code, missing_docs)]

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;

use bulkhead_core::{Admitted, CompartmentInfo, Finished, Observer, Outcome, Rejected};
use bulkhead_semaphore::Stats;

/// Tracks how many calls are inside the guarded section and the most seen at once.
#[derive(Default)]
pub struct InFlight {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl InFlight {
    pub fn enter(&self) -> InFlightGuard<'_> {
        let now = self.now.fetch_add(1, SeqCst) + 1;
        self.max.fetch_max(now, SeqCst);
        InFlightGuard(self)
    }

    pub fn max(&self) -> usize {
        self.max.load(SeqCst)
    }

    pub fn now(&self) -> usize {
        self.now.load(SeqCst)
    }

    pub fn reset_max(&self) {
        self.max.store(self.now.load(SeqCst), SeqCst);
    }
}

pub struct InFlightGuard<'a>(&'a InFlight);

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, SeqCst);
    }
}

/// Records every event it sees.
#[derive(Default)]
pub struct Recorder {
    pub admitted: AtomicUsize,
    pub rejected: Mutex<Vec<Rejected>>,
    pub finished: Mutex<Vec<Outcome>>,
    pub resized: Mutex<Vec<(usize, usize)>>,
    pub closed: AtomicUsize,
    pub names: Mutex<Vec<String>>,
}

impl Observer for Recorder {
    fn on_admitted(&self, info: &CompartmentInfo, _event: &Admitted) {
        self.admitted.fetch_add(1, SeqCst);
        self.note(info);
    }
    fn on_rejected(&self, info: &CompartmentInfo, rejection: &Rejected) {
        self.rejected.lock().unwrap().push(rejection.clone());
        self.note(info);
    }
    fn on_finished(&self, info: &CompartmentInfo, event: &Finished) {
        self.finished.lock().unwrap().push(event.outcome);
        self.note(info);
    }
    fn on_resized(&self, _info: &CompartmentInfo, from: usize, to: usize) {
        self.resized.lock().unwrap().push((from, to));
    }
    fn on_closed(&self, _info: &CompartmentInfo) {
        self.closed.fetch_add(1, SeqCst);
    }
}

impl Recorder {
    fn note(&self, info: &CompartmentInfo) {
        let mut names = self.names.lock().unwrap();
        if !names.iter().any(|n| n == info.name()) {
            names.push(info.name().to_owned());
        }
    }

    pub fn outcomes(&self, outcome: Outcome) -> u64 {
        self.finished
            .lock()
            .unwrap()
            .iter()
            .filter(|o| **o == outcome)
            .count() as u64
    }
}

/// Asserts the counters of a quiet compartment add up.
pub fn assert_quiet_and_consistent(stats: &Stats, attempts: u64) {
    assert_eq!(stats.in_use, 0, "slots still in use: {stats:?}");
    assert_eq!(stats.waiting, 0, "callers still waiting: {stats:?}");
    assert_eq!(
        stats.capacity, stats.target_capacity,
        "capacity has not converged: {stats:?}"
    );
    assert_eq!(
        stats.attempts(),
        attempts,
        "admitted + rejected + abandoned != attempts: {stats:?}"
    );
    assert_eq!(
        stats.admitted,
        stats.finished(),
        "admitted != completed + failed + panicked + cancelled: {stats:?}"
    );
}
