//! The permit accounting of a semaphore compartment, in one atomic word.
//!
//! Free permits, registered waiters, resize debt and the closed flag share a single
//! `u64`, so every transition is one compare-and-swap and no two of them can interleave
//! badly:
//!
//! - **take**: a free permit, if any (the uncontended path: one CAS, no lock);
//! - **release**: a returning permit pays resize debt first, else goes to a registered
//!   waiter (handed over through tokio's FIFO semaphore, which does the waking), else
//!   becomes free again (one CAS; tokio's lock is touched only when someone waits);
//! - **enqueue / leave**: a caller that found no free permit registers as a waiter,
//!   bounded by `max_waiting`; one that gives up unregisters, and if a permit had
//!   already been handed over for it, reclaims that permit and releases it again;
//! - **resize**: growing cancels debt, then hands permits to waiters, then frees the
//!   rest; shrinking removes free permits at once and records the rest as debt, paid
//!   by permits as they come back. Neither blocks, neither cancels a holder.
//!
//! Invariant, checked under loom in `loom_tests`: permits in circulation (free + held +
//! handed over) equal `target + debt`, and once everything is released and nobody
//! waits, `free == target` and `debt == 0`.

#[cfg(bulkhead_loom)]
use loom::sync::atomic::{AtomicU64, AtomicUsize, Ordering::AcqRel, Ordering::Acquire};
#[cfg(not(bulkhead_loom))]
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::AcqRel, Ordering::Acquire};

const FIELD_BITS: u32 = 21;
const FIELD_MAX: u64 = (1 << FIELD_BITS) - 1;
const FREE_SHIFT: u32 = 0;
const WAITERS_SHIFT: u32 = FIELD_BITS;
const DEBT_SHIFT: u32 = 2 * FIELD_BITS;
const CLOSED: u64 = 1 << 63;

/// The largest count a field can hold; configuration limits stay below it.
pub(crate) const MAX_COUNT: usize = FIELD_MAX as usize;

/// Where permits go to reach waiters: tokio's semaphore, or a model of it in tests.
pub(crate) trait Handoff {
    /// Hands `n` permits to waiting callers.
    fn hand(&self, n: usize);
    /// Takes back one handed-over permit that no waiter has taken yet.
    fn reclaim(&self) -> bool;
}

impl Handoff for tokio::sync::Semaphore {
    #[inline]
    fn hand(&self, n: usize) {
        self.add_permits(n)
    }

    #[inline]
    fn reclaim(&self) -> bool {
        self.forget_permits(1) == 1
    }
}

/// Waits a little for another thread to finish a short step.
#[inline]
fn backoff(spins: &mut u32) {
    #[cfg(bulkhead_loom)]
    {
        let _ = spins;
        loom::thread::yield_now();
    }
    #[cfg(not(bulkhead_loom))]
    {
        *spins += 1;
        if *spins < 64 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// A decoded state word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub(crate) free: usize,
    pub(crate) waiters: usize,
    pub(crate) debt: usize,
    pub(crate) closed: bool,
}

#[inline]
fn field(word: u64, shift: u32) -> u64 {
    (word >> shift) & FIELD_MAX
}

/// Why a permit could not be taken at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoPermit {
    /// None is free.
    Empty,
    /// The compartment is closed.
    Closed,
}

/// What happened when a caller asked to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Enqueue {
    /// A permit was free after all: taken, no wait needed.
    Taken,
    /// Registered as a waiter: a permit will be handed over through the semaphore.
    Waiting,
    /// `max_waiting` callers already wait.
    QueueFull,
    /// The compartment is closed.
    Closed,
}

#[derive(Debug)]
pub(crate) struct PermitState {
    word: AtomicU64,
    target: AtomicUsize,
}

impl PermitState {
    pub(crate) fn new(permits: usize) -> Self {
        debug_assert!(permits <= MAX_COUNT);
        PermitState {
            word: AtomicU64::new((permits as u64) << FREE_SHIFT),
            target: AtomicUsize::new(permits),
        }
    }

    pub(crate) fn target(&self) -> usize {
        self.target.load(Acquire)
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let word = self.word.load(Acquire);
        Snapshot {
            free: field(word, FREE_SHIFT) as usize,
            waiters: field(word, WAITERS_SHIFT) as usize,
            debt: field(word, DEBT_SHIFT) as usize,
            closed: word & CLOSED != 0,
        }
    }

    /// Takes a free permit.
    #[inline]
    pub(crate) fn try_take(&self) -> Result<(), NoPermit> {
        let mut word = self.word.load(Acquire);
        loop {
            if word & CLOSED != 0 {
                return Err(NoPermit::Closed);
            }
            if field(word, FREE_SHIFT) == 0 {
                return Err(NoPermit::Empty);
            }
            match self
                .word
                .compare_exchange_weak(word, word - (1 << FREE_SHIFT), AcqRel, Acquire)
            {
                Ok(_) => return Ok(()),
                Err(actual) => word = actual,
            }
        }
    }

    /// Takes a free permit, or registers as a waiter if fewer than `max_waiting` wait.
    pub(crate) fn take_or_enqueue(&self, max_waiting: usize) -> Enqueue {
        let mut word = self.word.load(Acquire);
        loop {
            if word & CLOSED != 0 {
                return Enqueue::Closed;
            }
            let (next, outcome) = if field(word, FREE_SHIFT) != 0 {
                (word - (1 << FREE_SHIFT), Enqueue::Taken)
            } else if field(word, WAITERS_SHIFT) as usize >= max_waiting.min(MAX_COUNT) {
                return Enqueue::QueueFull;
            } else {
                (word + (1 << WAITERS_SHIFT), Enqueue::Waiting)
            };
            match self.word.compare_exchange_weak(word, next, AcqRel, Acquire) {
                Ok(_) => return outcome,
                Err(actual) => word = actual,
            }
        }
    }

    /// Gives a held permit back: it pays debt, or goes to a waiter, or becomes free.
    #[inline]
    pub(crate) fn release<H: Handoff>(&self, handoff: &H) {
        let mut word = self.word.load(Acquire);
        loop {
            let (next, hand) = if field(word, DEBT_SHIFT) != 0 {
                (word - (1 << DEBT_SHIFT), false)
            } else if field(word, WAITERS_SHIFT) != 0 {
                (word - (1 << WAITERS_SHIFT), true)
            } else {
                (word + (1 << FREE_SHIFT), false)
            };
            match self.word.compare_exchange_weak(word, next, AcqRel, Acquire) {
                Ok(_) => {
                    if hand {
                        handoff.hand(1);
                    }
                    return;
                }
                Err(actual) => word = actual,
            }
        }
    }

    /// A registered waiter gives up (timed out, cancelled, or woken by `close`).
    ///
    /// Must be called after the waiter stopped waiting on the handoff semaphore (its
    /// acquire future dropped), so any permit the semaphore had assigned to it is back
    /// there.
    pub(crate) fn leave<H: Handoff>(&self, handoff: &H) {
        let mut word = self.word.load(Acquire);
        loop {
            if field(word, WAITERS_SHIFT) == 0 {
                break;
            }
            match self.word.compare_exchange_weak(
                word,
                word - (1 << WAITERS_SHIFT),
                AcqRel,
                Acquire,
            ) {
                Ok(_) => return,
                Err(actual) => word = actual,
            }
        }
        // Every registered waiter already had a permit handed over (or one is on its
        // way: a release decrements the waiters before it hands the permit to the
        // semaphore), this one included. With this waiter gone, one handed-over permit
        // has nobody to go to: take it back and release it like any other. If it is
        // still on its way, it arrives within the releasing thread's next few
        // instructions.
        let mut spins = 0u32;
        while !handoff.reclaim() {
            backoff(&mut spins);
        }
        self.release(handoff);
    }

    /// Marks the compartment closed; returns whether it was open.
    pub(crate) fn close(&self) -> bool {
        self.word.fetch_or(CLOSED, AcqRel) & CLOSED == 0
    }

    /// Changes the target; callers serialize resizes. Returns the previous target.
    pub(crate) fn resize<H: Handoff>(&self, handoff: &H, new: usize) -> usize {
        debug_assert!(new <= MAX_COUNT);
        let old = self.target.swap(new, AcqRel);
        let mut word = self.word.load(Acquire);
        if new > old {
            let grow = (new - old) as u64;
            loop {
                let debt = field(word, DEBT_SHIFT);
                let waiters = field(word, WAITERS_SHIFT);
                let cancel = debt.min(grow);
                let hand = waiters.min(grow - cancel);
                let free = grow - cancel - hand;
                let next =
                    word - (cancel << DEBT_SHIFT) - (hand << WAITERS_SHIFT) + (free << FREE_SHIFT);
                match self.word.compare_exchange_weak(word, next, AcqRel, Acquire) {
                    Ok(_) => {
                        if hand != 0 {
                            handoff.hand(hand as usize);
                        }
                        break;
                    }
                    Err(actual) => word = actual,
                }
            }
        } else if new < old {
            let shrink = (old - new) as u64;
            loop {
                let take = field(word, FREE_SHIFT).min(shrink);
                let next = word - (take << FREE_SHIFT) + ((shrink - take) << DEBT_SHIFT);
                match self.word.compare_exchange_weak(word, next, AcqRel, Acquire) {
                    Ok(_) => break,
                    Err(actual) => word = actual,
                }
            }
        }
        old
    }
}

#[cfg(all(test, bulkhead_loom))]
mod loom_tests {
    use super::*;
    use loom::sync::atomic::Ordering::SeqCst;
    use loom::sync::Arc;
    use loom::thread;

    /// Stands in for tokio's semaphore: handed-over permits a waiter can take.
    #[derive(Default)]
    struct Model {
        handed: AtomicUsize,
    }

    impl Handoff for Model {
        fn hand(&self, n: usize) {
            self.handed.fetch_add(n, SeqCst);
        }

        fn reclaim(&self) -> bool {
            self.take()
        }
    }

    impl Model {
        fn take(&self) -> bool {
            let mut handed = self.handed.load(SeqCst);
            loop {
                if handed == 0 {
                    return false;
                }
                match self
                    .handed
                    .compare_exchange(handed, handed - 1, SeqCst, SeqCst)
                {
                    Ok(_) => return true,
                    Err(actual) => handed = actual,
                }
            }
        }
    }

    fn assert_quiet(state: &PermitState, model: &Model, target: usize) {
        let s = state.snapshot();
        assert_eq!(state.target(), target, "target");
        assert_eq!((s.debt, s.waiters), (0, 0), "{s:?}");
        assert_eq!(
            model.handed.load(SeqCst),
            0,
            "permits stranded in the handoff"
        );
        assert_eq!(s.free, target, "free permits: {s:?}");
    }

    #[test]
    fn shrinking_while_holders_release_converges_to_the_target() {
        loom::model(|| {
            let model = Arc::new(Model::default());
            let state = Arc::new(PermitState::new(2));
            state.try_take().unwrap();
            state.try_take().unwrap();
            let holders: Vec<_> = (0..2)
                .map(|_| {
                    let (model, state) = (model.clone(), state.clone());
                    thread::spawn(move || state.release(&*model))
                })
                .collect();
            state.resize(&*model, 1);
            for h in holders {
                h.join().unwrap();
            }
            assert_quiet(&state, &model, 1);
        });
    }

    #[test]
    fn a_waiter_that_gives_up_while_a_permit_is_handed_over_strands_nothing() {
        loom::model(|| {
            let model = Arc::new(Model::default());
            let state = Arc::new(PermitState::new(1));
            state.try_take().unwrap();
            assert_eq!(state.take_or_enqueue(4), Enqueue::Waiting);
            let holder = {
                let (model, state) = (model.clone(), state.clone());
                thread::spawn(move || state.release(&*model))
            };
            // The waiter either takes the handed-over permit or gives up.
            let waiter = {
                let (model, state) = (model.clone(), state.clone());
                thread::spawn(move || {
                    if model.take() {
                        state.release(&*model);
                    } else {
                        state.leave(&*model);
                    }
                })
            };
            holder.join().unwrap();
            waiter.join().unwrap();
            assert_quiet(&state, &model, 1);
        });
    }

    #[test]
    fn growing_hands_permits_to_waiters_and_never_exceeds_the_target() {
        loom::model(|| {
            let model = Arc::new(Model::default());
            let state = Arc::new(PermitState::new(1));
            state.try_take().unwrap();
            assert_eq!(state.take_or_enqueue(4), Enqueue::Waiting);
            let resizer = {
                let (model, state) = (model.clone(), state.clone());
                thread::spawn(move || {
                    state.resize(&*model, 2);
                })
            };
            let holder = {
                let (model, state) = (model.clone(), state.clone());
                thread::spawn(move || state.release(&*model))
            };
            resizer.join().unwrap();
            holder.join().unwrap();
            // Exactly one permit went to the one waiter; the other is free.
            assert!(model.take(), "the waiter was served");
            state.release(&*model);
            assert_quiet(&state, &model, 2);
        });
    }

    #[test]
    fn close_with_a_waiter_and_a_release_strands_nothing() {
        loom::model(|| {
            let model = Arc::new(Model::default());
            let state = Arc::new(PermitState::new(1));
            state.try_take().unwrap();
            assert_eq!(state.take_or_enqueue(4), Enqueue::Waiting);
            let holder = {
                let (model, state) = (model.clone(), state.clone());
                thread::spawn(move || state.release(&*model))
            };
            state.close();
            // Woken by the close, the waiter leaves without taking a permit.
            state.leave(&*model);
            holder.join().unwrap();
            let s = state.snapshot();
            assert!(s.closed);
            assert_eq!((s.free, s.waiters, s.debt), (1, 0, 0), "{s:?}");
            assert_eq!(model.handed.load(SeqCst), 0);
            assert_eq!(state.try_take(), Err(NoPermit::Closed));
        });
    }
}
