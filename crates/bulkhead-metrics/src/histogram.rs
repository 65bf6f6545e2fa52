//! Per-call durations counted in fixed buckets, handed to the recorder when metrics are
//! published.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bulkhead_core::names::DURATION_BUCKETS_SECONDS;
use metrics::Histogram;

/// Buckets: one per bound of [`DURATION_BUCKETS_SECONDS`], plus one above the last.
const BUCKETS: usize = DURATION_BUCKETS_SECONDS.len() + 1;

/// Upper bounds in nanoseconds, in the order of [`DURATION_BUCKETS_SECONDS`].
fn bounds_nanos() -> [u64; BUCKETS - 1] {
    let mut bounds = [0; BUCKETS - 1];
    for (bound, seconds) in bounds.iter_mut().zip(DURATION_BUCKETS_SECONDS) {
        *bound = (seconds * 1e9).round() as u64;
    }
    bounds
}

/// A duration histogram recorded without locks or atomic read-modify-writes.
///
/// Each bucket keeps a count and a sum. Every thread records into its own shard (one
/// writer, so a relaxed load and store suffice); [`flush`](Self::flush) adds the shards
/// up and hands what was added since the last flush to the recorder, one
/// `record_many` per bucket with the mean of its new samples. The mean of samples in a
/// bucket lies within that bucket, so a recorder with the same buckets (see
/// `bulkhead_metrics::prometheus`) ends up with exactly the counts and the sum it
/// would have had from one record per sample.
pub(crate) struct BucketedDurations {
    id: usize,
    bounds: [u64; BUCKETS - 1],
    /// One shard per thread that recorded; a thread's shard is also held by that
    /// thread's cache.
    shards: Mutex<Vec<Arc<Shard>>>,
    /// Samples of threads that have exited, and of threads recording while their
    /// thread-local storage is being torn down.
    shared: Shard,
    flushed: Mutex<[(u64, u64); BUCKETS]>,
    handle: Histogram,
}

#[derive(Default)]
struct Shard {
    counts: [AtomicU64; BUCKETS],
    sums: [AtomicU64; BUCKETS],
}

impl Shard {
    /// Adds a sample; only the shard's own thread calls it.
    #[inline]
    fn add_own(&self, bucket: usize, nanos: u64) {
        let count = &self.counts[bucket];
        count.store(
            count.load(Ordering::Relaxed).wrapping_add(1),
            Ordering::Relaxed,
        );
        if nanos != 0 {
            let sum = &self.sums[bucket];
            sum.store(
                sum.load(Ordering::Relaxed).wrapping_add(nanos),
                Ordering::Relaxed,
            );
        }
    }

    /// Adds samples from any thread.
    fn add_shared(&self, bucket: usize, count: u64, nanos: u64) {
        self.counts[bucket].fetch_add(count, Ordering::Relaxed);
        self.sums[bucket].fetch_add(nanos, Ordering::Relaxed);
    }
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's shard of every histogram it recorded into, by histogram id.
    static SHARDS: RefCell<Vec<(usize, Arc<Shard>)>> = const { RefCell::new(Vec::new()) };
}

impl BucketedDurations {
    pub(crate) fn new(handle: Histogram) -> Self {
        BucketedDurations {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            bounds: bounds_nanos(),
            shards: Mutex::new(Vec::new()),
            shared: Shard::default(),
            flushed: Mutex::new([(0, 0); BUCKETS]),
            handle,
        }
    }

    #[inline]
    pub(crate) fn record(&self, d: Duration) {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let bucket = self
            .bounds
            .iter()
            .position(|&bound| nanos <= bound)
            .unwrap_or(BUCKETS - 1);
        let recorded = SHARDS.try_with(|cache| {
            let Ok(mut cache) = cache.try_borrow_mut() else {
                return false;
            };
            match cache.iter().find(|(id, _)| *id == self.id) {
                Some((_, shard)) => shard.add_own(bucket, nanos),
                None => {
                    let shard = self.new_shard(&mut cache);
                    shard.add_own(bucket, nanos);
                }
            }
            true
        });
        if recorded != Ok(true) {
            self.shared.add_shared(bucket, 1, nanos);
        }
    }

    #[cold]
    fn new_shard(&self, cache: &mut Vec<(usize, Arc<Shard>)>) -> Arc<Shard> {
        // Forget the shards of histograms that no longer exist.
        cache.retain(|(_, shard)| Arc::strong_count(shard) > 1);
        let shard = Arc::new(Shard::default());
        self.shards
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&shard));
        cache.push((self.id, Arc::clone(&shard)));
        shard
    }

    /// Hands the samples added since the last flush to the recorder.
    pub(crate) fn flush(&self) {
        let mut flushed = self.flushed.lock().unwrap_or_else(PoisonError::into_inner);
        let mut totals = [(0u64, 0u64); BUCKETS];
        {
            let mut shards = self.shards.lock().unwrap_or_else(PoisonError::into_inner);
            // A shard only this list holds belongs to a thread that has exited.
            shards.retain(|shard| {
                let alive = Arc::strong_count(shard) > 1;
                if !alive {
                    for bucket in 0..BUCKETS {
                        let count = shard.counts[bucket].load(Ordering::Relaxed);
                        let sum = shard.sums[bucket].load(Ordering::Relaxed);
                        self.shared.add_shared(bucket, count, sum);
                    }
                }
                alive
            });
            for shard in shards.iter() {
                for (bucket, total) in totals.iter_mut().enumerate() {
                    total.0 = total
                        .0
                        .wrapping_add(shard.counts[bucket].load(Ordering::Relaxed));
                    total.1 = total
                        .1
                        .wrapping_add(shard.sums[bucket].load(Ordering::Relaxed));
                }
            }
        }
        for (bucket, total) in totals.iter_mut().enumerate() {
            total.0 = total
                .0
                .wrapping_add(self.shared.counts[bucket].load(Ordering::Relaxed));
            total.1 = total
                .1
                .wrapping_add(self.shared.sums[bucket].load(Ordering::Relaxed));
        }
        for (bucket, (done, (count, sum))) in flushed.iter_mut().zip(totals).enumerate() {
            let new = count.wrapping_sub(done.0);
            if new == 0 {
                continue;
            }
            let added = sum.wrapping_sub(done.1);
            // A sample counted but not yet summed can pull the mean below the bucket;
            // keep it inside (the sum catches up at the next flush).
            let low = if bucket == 0 {
                0
            } else {
                self.bounds[bucket - 1] + 1
            };
            let high = self.bounds.get(bucket).copied().unwrap_or(u64::MAX);
            let mean = (added / new).clamp(low, high);
            self.handle.record_many(mean as f64 / 1e9, new as usize);
            *done = (count, sum);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_land_in_the_bucket_of_their_bound() {
        let h = BucketedDurations::new(Histogram::noop());
        h.record(Duration::ZERO);
        h.record(Duration::from_micros(500)); // on the first bound: first bucket
        h.record(Duration::from_micros(501));
        h.record(Duration::from_secs(31)); // above the last bound
        let shard = h.shards.lock().unwrap()[0].clone();
        let counts: Vec<u64> = shard
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        assert_eq!(counts[0], 2);
        assert_eq!(counts[1], 1);
        assert_eq!(counts[BUCKETS - 1], 1);
        assert_eq!(counts.iter().sum::<u64>(), 4);
        assert_eq!(shard.sums[0].load(Ordering::Relaxed), 500_000);
    }
}
#[cfg(test)]
mod threads {
    use super::*;

    #[test]
    fn samples_of_every_thread_are_kept_when_threads_exit() {
        let h = Arc::new(BucketedDurations::new(Histogram::noop()));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let h = Arc::clone(&h);
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        h.record(Duration::from_millis(2));
                    }
                })
            })
            .collect();
        h.record(Duration::from_millis(2));
        for t in threads {
            t.join().unwrap();
        }
        h.flush();
        assert_eq!(
            h.shards.lock().unwrap().len(),
            1,
            "exited threads' shards folded"
        );
        let bucket = 2; // 2 ms: above 1 ms, at most 2.5 ms
        let total: u64 = h.shared.counts[bucket].load(Ordering::Relaxed)
            + h.shards.lock().unwrap()[0].counts[bucket].load(Ordering::Relaxed);
        assert_eq!(total, 4001);
        assert_eq!(
            h.shared.sums[bucket].load(Ordering::Relaxed),
            4000 * 2_000_000
        );
    }
}
