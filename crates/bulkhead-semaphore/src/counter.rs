//! A counter that threads add to without a locked instruction.

use std::sync::atomic::{AtomicU64, Ordering};

use thread_local::ThreadLocal;

/// A count that only goes up, kept per thread: each thread adds to its own cell with a
/// plain load and store (no other thread writes there), and reading sums the cells.
///
/// Counting on the admission path then costs neither a locked instruction (which on
/// x86 also waits for every earlier store to drain) nor a cache line bounced between the
/// threads admitting at once. A thread's cell goes to the next thread that gets its id
/// once it exits, with its figure, so nothing counted is lost.
#[derive(Default)]
pub(crate) struct PerThreadCount {
    cells: ThreadLocal<Cell>,
}

/// One thread's figure, alone on its cache line.
#[derive(Default)]
#[repr(align(64))]
struct Cell(AtomicU64);

impl PerThreadCount {
    /// Adds one for the calling thread. The first call on a thread allocates its cell.
    #[inline]
    pub(crate) fn add_one(&self) {
        let cell = &self.cells.get_or_default().0;
        // Only this thread writes the cell, so a load and a store add without a race.
        cell.store(cell.load(Ordering::Relaxed) + 1, Ordering::Release);
    }

    /// The sum over every thread: each addition whose store happened before this call.
    pub(crate) fn load(&self) -> u64 {
        self.cells
            .iter()
            .map(|cell| cell.0.load(Ordering::Acquire))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::PerThreadCount;

    #[test]
    fn additions_from_every_thread_add_up_including_threads_that_exited() {
        let count = Arc::new(PerThreadCount::default());
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let count = Arc::clone(&count);
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        count.add_one();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("thread");
        }
        count.add_one();
        assert_eq!(count.load(), 8001);
        // A thread that reuses an exited thread's id carries on from its figure.
        let count2 = Arc::clone(&count);
        std::thread::spawn(move || count2.add_one())
            .join()
            .expect("thread");
        assert_eq!(count.load(), 8002);
    }
}
