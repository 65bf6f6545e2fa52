//! The permit accounting of a semaphore compartment, in one atomic word.
//!
//! The target capacity, the permits held, the registered waiters and the closed flag
//! share a single `u64`, so every transition is one compare-and-swap and no two of them
//! can interleave badly:
//!
//! - **take**: a permit, if fewer than `target` are held (the uncontended path: one
//!   CAS, no lock);
//! - **release**: a returning permit goes to a registered waiter if there is one and
//!   the compartment is not over its target (handed over through tokio's FIFO
//!   semaphore, which does the waking; the permit stays counted as held), otherwise it
//!   is simply no longer held. tokio's lock is touched only when someone waits;
//! - **enqueue / leave**: a caller that found no free permit registers as a waiter,
//!   bounded by `max_waiting`; one that gives up unregisters, and if a permit had
//!   already been handed over for it, reclaims that permit and releases it again;
//! - **resize**: a new target takes effect in the same CAS. Growing hands the new
//!   permits to waiters first. Shrinking removes nothing by force: while more permits
//!   are held than the target allows, returning permits are not handed on, so the
//!   count converges to the target as in-flight calls finish. Neither blocks, neither
//!   cancels a holder.
//!
//! Invariants, checked under loom in `loom_tests`: `held` counts every permit taken or
//! handed over and not yet released; a waiter is registered only while `held >= target`;
//! once everything is released and nobody waits, `held == 0` and nothing is stranded in
//! the handoff.

#[cfg(bulkhead_loom)]
use loom::sync::atomic::{AtomicU64, Ordering::AcqRel, Ordering::Acquire};
#[cfg(not(bulkhead_loom))]
use std::sync::atomic::{AtomicU64, Ordering::AcqRel, Ordering::Acquire};

const FIELD_BITS: u32 = 21;
const FIELD_MAX: u64 = (1 << FIELD_BITS) - 1;
const HELD_SHIFT: u32 = 0;
const WAITERS_SHIFT: u32 = FIELD_BITS;
const TARGET_SHIFT: u32 = 2 * FIELD_BITS;
const CLOSED: u64 = 1 << 63;
const ONE_HELD: u64 = 1 << HELD_SHIFT;
const ONE_WAITER: u64 = 1 << WAITERS_SHIFT;

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
    pub(crate) target: usize,
    pub(crate) held: usize,
    pub(crate) waiters: usize,
    pub(crate) closed: bool,
}

impl Snapshot {
    /// Permits a caller could take right now.
    pub(crate) fn free(&self) -> usize {
        self.target.saturating_sub(self.held)
    }
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
}

impl PermitState {
    pub(crate) fn new(target: usize) -> Self {
        debug_assert!(target <= MAX_COUNT);
        PermitState {
            word: AtomicU64::new((target as u64) << TARGET_SHIFT),
        }
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let word = self.word.load(Acquire);
        Snapshot {
            target: field(word, TARGET_SHIFT) as usize,
            held: field(word, HELD_SHIFT) as usize,
            waiters: field(word, WAITERS_SHIFT) as usize,
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
            if field(word, HELD_SHIFT) >= field(word, TARGET_SHIFT) {
                return Err(NoPermit::Empty);
            }
            match self
                .word
                .compare_exchange_weak(word, word + ONE_HELD, AcqRel, Acquire)
            {
                Ok(_) => return Ok(()),
                Err(actual) => word = actual,
            }
        }
    }

    /// Takes a free permit, or registers as a waiter if fewer than `max_waiting` wait.
    pub(crate) fn take_or_enqueue(&self, max_waiting: usize) -> Enqueue {
        let max_waiting = max_waiting.min(MAX_COUNT) as u64;
        let mut word = self.word.load(Acquire);
        loop {
            if word & CLOSED != 0 {
                return Enqueue::Closed;
            }
            let (next, outcome) = if field(word, HELD_SHIFT) < field(word, TARGET_SHIFT) {
                (word + ONE_HELD, Enqueue::Taken)
            } else if field(word, WAITERS_SHIFT) >= max_waiting {
                return Enqueue::QueueFull;
            } else {
                (word + ONE_WAITER, Enqueue::Waiting)
            };
            match self.word.compare_exchange_weak(word, next, AcqRel, Acquire) {
                Ok(_) => return outcome,
                Err(actual) => word = actual,
            }
        }
    }

    /// Gives a held permit back: to a waiter if one is registered and the compartment
    /// is within its target, otherwise it is no longer held.
    #[inline]
    pub(crate) fn release<H: Handoff>(&self, handoff: &H) {
        let mut word = self.word.load(Acquire);
        loop {
            let hand = field(word, WAITERS_SHIFT) != 0
                && word & CLOSED == 0
                && field(word, HELD_SHIFT) <= field(word, TARGET_SHIFT);
            let next = if hand {
                word - ONE_WAITER
            } else {
                word - ONE_HELD
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
            match self
                .word
                .compare_exchange_weak(word, word - ONE_WAITER, AcqRel, Acquire)
            {
                Ok(_) => return,
                Err(actual) => word = actual,
            }
        }
        // Every registered waiter already had a permit handed over (or one is on its
        // way: a release unregisters the waiter before it hands the permit to the
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

    /// Sets a new target; returns the previous one.
    pub(crate) fn resize<H: Handoff>(&self, handoff: &H, new: usize) -> usize {
        debug_assert!(new <= MAX_COUNT);
        let new = new as u64;
        let mut word = self.word.load(Acquire);
        loop {
            let old = field(word, TARGET_SHIFT);
            let held = field(word, HELD_SHIFT);
            let waiters = field(word, WAITERS_SHIFT);
            // Room made by a grow goes to waiters first (never after close).
            let hand = if word & CLOSED == 0 {
                waiters.min(new.saturating_sub(held))
            } else {
                0
            };
            let next =
                (word & !(FIELD_MAX << TARGET_SHIFT)) + (new << TARGET_SHIFT) + hand * ONE_HELD
                    - hand * ONE_WAITER;
            match self.word.compare_exchange_weak(word, next, AcqRel, Acquire) {
                Ok(_) => {
                    if hand != 0 {
                        handoff.hand(hand as usize);
                    }
                    return old as usize;
                }
                Err(actual) => word = actual,
            }
        }
    }
}

#[cfg(all(test, bulkhead_loom))]
mod loom_tests {
    use super::*;
    use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
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
        assert_eq!(s.target, target, "target");
        assert_eq!((s.held, s.waiters), (0, 0), "{s:?}");
        assert_eq!(
            model.handed.load(SeqCst),
            0,
            "permits stranded in the handoff"
        );
    }

    /// A semaphore of one permit, held, with one caller queued for it.
    fn one_held_one_waiting() -> (Arc<Model>, Arc<PermitState>) {
        let model = Arc::new(Model::default());
        let state = Arc::new(PermitState::new(1));
        state.try_take().unwrap();
        assert_eq!(state.take_or_enqueue(4), Enqueue::Waiting);
        (model, state)
    }

    /// A thread that gives one held permit back.
    fn spawn_release(model: &Arc<Model>, state: &Arc<PermitState>) -> thread::JoinHandle<()> {
        let (model, state) = (model.clone(), state.clone());
        thread::spawn(move || state.release(&*model))
    }

    #[test]
    fn shrinking_while_holders_release_converges_and_never_over_admits() {
        loom::model(|| {
            let model = Arc::new(Model::default());
            let state = Arc::new(PermitState::new(2));
            state.try_take().unwrap();
            state.try_take().unwrap();
            let holder = spawn_release(&model, &state);
            let newcomer = {
                let state = state.clone();
                thread::spawn(move || state.try_take().is_ok())
            };
            state.resize(&*model, 1);
            holder.join().unwrap();
            let admitted = newcomer.join().unwrap();
            let s = state.snapshot();
            // The newcomer got in only if it came before the shrink took effect.
            assert!(s.held <= 2, "{s:?}");
            state.release(&*model);
            if admitted {
                state.release(&*model);
            }
            assert_quiet(&state, &model, 1);
        });
    }

    #[test]
    fn a_waiter_that_gives_up_while_a_permit_is_handed_over_strands_nothing() {
        loom::model(|| {
            let (model, state) = one_held_one_waiting();
            let holder = spawn_release(&model, &state);
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
            let (model, state) = one_held_one_waiting();
            let resizer = {
                let (model, state) = (model.clone(), state.clone());
                thread::spawn(move || {
                    state.resize(&*model, 2);
                })
            };
            let holder = spawn_release(&model, &state);
            resizer.join().unwrap();
            holder.join().unwrap();
            let s = state.snapshot();
            assert!(s.held <= 2, "{s:?}");
            assert_eq!(s.waiters, 0, "the waiter was served: {s:?}");
            assert!(model.take(), "a permit was handed to the waiter");
            state.release(&*model);
            assert_quiet(&state, &model, 2);
        });
    }

    #[test]
    fn close_with_a_waiter_and_a_release_strands_nothing() {
        loom::model(|| {
            let (model, state) = one_held_one_waiting();
            let holder = spawn_release(&model, &state);
            state.close();
            // Woken by the close, the waiter leaves without taking a permit.
            state.leave(&*model);
            holder.join().unwrap();
            let s = state.snapshot();
            assert!(s.closed);
            assert_eq!((s.held, s.waiters), (0, 0), "{s:?}");
            assert_eq!(model.handed.load(SeqCst), 0);
            assert_eq!(state.try_take(), Err(NoPermit::Closed));
        });
    }
}
