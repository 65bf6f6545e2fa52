//! Lock-free capacity accounting for live resizing.
//!
//! The permits themselves live in a FIFO semaphore. Growing adds permits at once.
//! Shrinking removes the free permits it can and records the rest as *debt*; permits
//! that come back pay the debt instead of returning to the semaphore, so capacity
//! converges to the target as in-flight calls finish, without blocking the caller and
//! without cancelling anything.
//!
//! A release that finds no debt returns its permit and then bumps the `released`
//! counter; a shrink raises the debt and then bumps the same counter. Those two
//! read-modify-writes on one location are totally ordered, so either the shrink sees the
//! returned permit (and takes it) or the release sees the new debt (and settles it): a
//! permit can never slip back into the semaphore unnoticed while debt is owed.
//!
//! Invariants (checked under loom in `loom_tests`):
//! - `current` = permits in circulation (free + held) = `target + debt` once every
//!   concurrent operation has finished;
//! - once everything is released, `free == target` and `debt == 0`;
//! - `released` counts every release exactly once.

#[cfg(bulkhead_loom)]
use loom::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
#[cfg(not(bulkhead_loom))]
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};

/// The permit store behind the accounting: a semaphore, or a model of one in tests.
pub(crate) trait Permits {
    /// Returns `n` permits to the store, waking waiters.
    fn add(&self, n: usize);
    /// Removes up to `n` free permits, returning how many were removed.
    fn forget(&self, n: usize) -> usize;
}

impl Permits for tokio::sync::Semaphore {
    #[inline]
    fn add(&self, n: usize) {
        self.add_permits(n)
    }

    #[inline]
    fn forget(&self, n: usize) -> usize {
        self.forget_permits(n)
    }
}

#[derive(Debug)]
pub(crate) struct Capacity {
    /// Permits to retire as they come back.
    debt: AtomicUsize,
    /// Permits in circulation: free plus held.
    current: AtomicUsize,
    /// The configured capacity.
    target: AtomicUsize,
    /// Releases so far (monotonic), bumped after the permit went back.
    released: AtomicU64,
}

impl Capacity {
    pub(crate) fn new(permits: usize) -> Self {
        Capacity {
            debt: AtomicUsize::new(0),
            current: AtomicUsize::new(permits),
            target: AtomicUsize::new(permits),
            released: AtomicU64::new(0),
        }
    }

    pub(crate) fn target(&self) -> usize {
        self.target.load(SeqCst)
    }

    pub(crate) fn current(&self) -> usize {
        self.current.load(SeqCst)
    }

    /// Permits released so far.
    pub(crate) fn released(&self) -> u64 {
        self.released.load(SeqCst)
    }

    #[cfg(bulkhead_loom)]
    pub(crate) fn debt(&self) -> usize {
        self.debt.load(SeqCst)
    }

    /// Gives one held permit back: it pays a unit of debt if there is any, otherwise it
    /// returns to the store.
    #[inline]
    pub(crate) fn release<P: Permits>(&self, permits: &P) {
        if self.pay_one() {
            self.released.fetch_add(1, SeqCst);
            return;
        }
        permits.add(1);
        self.released.fetch_add(1, SeqCst);
        // A shrink may have raised the debt after `pay_one` looked and before the
        // permit went back, and found no free permit to take: the bump above is ordered
        // after the shrink's, so the new debt is visible here; settle it so the capacity
        // still converges.
        if self.debt.load(SeqCst) != 0 {
            self.settle(permits);
        }
    }

    /// Pays one unit of debt, if any. Returns whether it did.
    #[inline]
    fn pay_one(&self) -> bool {
        let mut debt = self.debt.load(SeqCst);
        while debt != 0 {
            match self.debt.compare_exchange(debt, debt - 1, SeqCst, SeqCst) {
                Ok(_) => {
                    self.current.fetch_sub(1, SeqCst);
                    return true;
                }
                Err(actual) => debt = actual,
            }
        }
        false
    }

    /// Pays debt with free permits, one at a time, until either runs out.
    fn settle<P: Permits>(&self, permits: &P) {
        while self.debt.load(SeqCst) != 0 {
            if permits.forget(1) == 0 {
                return;
            }
            if !self.pay_one() {
                // The debt was paid by a returning permit meanwhile: put ours back.
                permits.add(1);
                return;
            }
        }
    }

    /// Changes the target capacity. Callers serialize resizes; releases may run
    /// concurrently. Returns the previous target.
    pub(crate) fn resize<P: Permits>(&self, permits: &P, new: usize) -> usize {
        let old = self.target.swap(new, SeqCst);
        if new > old {
            let mut grow = new - old;
            // Cancel outstanding debt first: those permits are still in circulation.
            let mut debt = self.debt.load(SeqCst);
            while debt != 0 && grow != 0 {
                let cancel = debt.min(grow);
                match self
                    .debt
                    .compare_exchange(debt, debt - cancel, SeqCst, SeqCst)
                {
                    Ok(_) => {
                        grow -= cancel;
                        break;
                    }
                    Err(actual) => debt = actual,
                }
            }
            if grow != 0 {
                self.current.fetch_add(grow, SeqCst);
                permits.add(grow);
            }
        } else if new < old {
            self.debt.fetch_add(old - new, SeqCst);
            // Order this shrink against concurrent releases (see the module docs).
            self.released.fetch_add(0, SeqCst);
            self.settle(permits);
        }
        old
    }
}

#[cfg(all(test, bulkhead_loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    /// A free-permit counter standing in for the semaphore.
    struct Model {
        free: AtomicUsize,
    }

    impl Model {
        fn new(n: usize) -> Self {
            Model {
                free: AtomicUsize::new(n),
            }
        }

        fn try_acquire(&self) -> bool {
            let mut free = self.free.load(SeqCst);
            loop {
                if free == 0 {
                    return false;
                }
                match self.free.compare_exchange(free, free - 1, SeqCst, SeqCst) {
                    Ok(_) => return true,
                    Err(actual) => free = actual,
                }
            }
        }
    }

    impl Permits for Model {
        fn add(&self, n: usize) {
            self.free.fetch_add(n, SeqCst);
        }

        fn forget(&self, n: usize) -> usize {
            let mut free = self.free.load(SeqCst);
            loop {
                let take = free.min(n);
                if take == 0 {
                    return 0;
                }
                match self
                    .free
                    .compare_exchange(free, free - take, SeqCst, SeqCst)
                {
                    Ok(_) => return take,
                    Err(actual) => free = actual,
                }
            }
        }
    }

    fn assert_converged(cap: &Capacity, model: &Model, target: usize) {
        assert_eq!(cap.target(), target, "target");
        assert_eq!(cap.released(), cap.released.load(SeqCst));
        assert_eq!(cap.debt(), 0, "debt left over");
        assert_eq!(cap.current(), target, "permits in circulation");
        assert_eq!(model.free.load(SeqCst), target, "free permits");
    }

    #[test]
    fn shrink_while_holders_release_converges_to_the_target() {
        loom::model(|| {
            let model = Arc::new(Model::new(0));
            let cap = Arc::new(Capacity::new(2));
            // Both permits are held by the two threads below.
            let holders: Vec<_> = (0..2)
                .map(|_| {
                    let (model, cap) = (model.clone(), cap.clone());
                    thread::spawn(move || cap.release(&*model))
                })
                .collect();
            cap.resize(&*model, 1);
            for h in holders {
                h.join().unwrap();
            }
            assert_converged(&cap, &model, 1);
        });
    }

    #[test]
    fn shrink_then_grow_while_a_holder_releases_converges() {
        loom::model(|| {
            let model = Arc::new(Model::new(1));
            let cap = Arc::new(Capacity::new(2));
            let holder = {
                let (model, cap) = (model.clone(), cap.clone());
                thread::spawn(move || cap.release(&*model))
            };
            cap.resize(&*model, 1);
            cap.resize(&*model, 3);
            holder.join().unwrap();
            assert_converged(&cap, &model, 3);
        });
    }

    #[test]
    fn capacity_in_use_never_exceeds_the_larger_target() {
        loom::model(|| {
            let model = Arc::new(Model::new(2));
            let cap = Arc::new(Capacity::new(2));
            let in_use = Arc::new(AtomicUsize::new(0));
            let workers: Vec<_> = (0..2)
                .map(|_| {
                    let (model, cap, in_use) = (model.clone(), cap.clone(), in_use.clone());
                    thread::spawn(move || {
                        if model.try_acquire() {
                            let now = in_use.fetch_add(1, SeqCst) + 1;
                            assert!(now <= 2, "{now} permits held with capacity 2");
                            in_use.fetch_sub(1, SeqCst);
                            cap.release(&*model);
                        }
                    })
                })
                .collect();
            cap.resize(&*model, 1);
            for w in workers {
                w.join().unwrap();
            }
            assert_converged(&cap, &model, 1);
        });
    }
}
