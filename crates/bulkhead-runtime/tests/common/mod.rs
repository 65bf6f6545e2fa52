//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bulkhead_runtime::{
    Admitted, CompartmentInfo, Finished, Observer, Outcome, Rejected, RuntimeBulkhead,
    RuntimeConfig, Stats,
};
use tokio::sync::{mpsc, Semaphore};

/// A compartment with `workers` workers and `capacity` queue slots, failing fast.
pub fn compartment(name: &str, workers: usize, capacity: usize) -> RuntimeBulkhead {
    RuntimeBulkhead::new(
        name,
        RuntimeConfig::default()
            .worker_threads(workers)
            .queue_capacity(capacity),
    )
    .expect("valid config")
}

/// Awaits `future`, failing the test instead of hanging when it takes more than ten
/// seconds (a broken compartment would leave it pending forever).
pub async fn within<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .expect("resolved within ten seconds")
}

/// Holds the thread, never yielding, until `stop` is set: the work that starves a
/// runtime. Only on a thread of `compartment`: anywhere else it would freeze the test's
/// own runtime, so it panics instead.
pub fn spin_on(compartment: &str, stop: &AtomicBool) {
    let here = std::thread::current().name().map(str::to_owned);
    assert_eq!(
        here.as_deref(),
        Some(compartment),
        "work ran outside its compartment"
    );
    while !stop.load(Ordering::Acquire) {
        std::hint::spin_loop();
    }
}

/// Holds tasks until opened.
#[derive(Clone)]
pub struct Gate(Arc<Semaphore>);

impl Gate {
    pub fn new() -> Self {
        Gate(Arc::new(Semaphore::new(0)))
    }

    /// Waits until the gate is opened.
    pub async fn pass(&self) {
        drop(self.0.acquire().await.expect("the gate is never closed"));
    }

    /// Lets every task through, now and later.
    pub fn open(&self) {
        self.0.add_permits(1);
    }
}

/// Tasks report here when they start.
pub struct Started {
    tx: mpsc::UnboundedSender<()>,
    rx: mpsc::UnboundedReceiver<()>,
}

impl Started {
    pub fn new() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Started { tx, rx }
    }

    pub fn signal(&self) -> mpsc::UnboundedSender<()> {
        self.tx.clone()
    }

    /// Waits until `n` more tasks have started.
    pub async fn wait(&mut self, n: usize) {
        for _ in 0..n {
            within(self.rx.recv()).await.expect("a sender is kept");
        }
    }
}

/// Sends on drop: tells the test that a task's future was dropped.
pub struct OnDrop(pub Option<mpsc::UnboundedSender<()>>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// Counts every event, as the semaphore's tests do.
#[derive(Default)]
pub struct Events {
    pub admitted: AtomicU64,
    pub rejected: AtomicU64,
    pub ok: AtomicU64,
    pub error: AtomicU64,
    pub panic: AtomicU64,
    pub cancelled: AtomicU64,
    pub closed: AtomicU64,
    pub kinds: Mutex<Vec<&'static str>>,
}

impl Events {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::SeqCst)
    }

    pub fn finished(&self) -> u64 {
        [&self.ok, &self.error, &self.panic, &self.cancelled]
            .iter()
            .map(|c| Self::get(c))
            .sum()
    }
}

impl Observer for Events {
    fn on_admitted(&self, info: &CompartmentInfo, _event: &Admitted) {
        self.kinds.lock().unwrap().push(info.kind());
        self.admitted.fetch_add(1, Ordering::SeqCst);
    }

    fn on_rejected(&self, _info: &CompartmentInfo, _rejection: &Rejected) {
        self.rejected.fetch_add(1, Ordering::SeqCst);
    }

    fn on_finished(&self, _info: &CompartmentInfo, event: &Finished) {
        match event.outcome {
            Outcome::Ok => &self.ok,
            Outcome::Error => &self.error,
            Outcome::Panic => &self.panic,
            Outcome::Cancelled => &self.cancelled,
        }
        .fetch_add(1, Ordering::SeqCst);
    }

    fn on_closed(&self, _info: &CompartmentInfo) {
        self.closed.fetch_add(1, Ordering::SeqCst);
    }
}

/// Checks that a quiet compartment's counters add up.
pub fn assert_adds_up(stats: &Stats) {
    assert_eq!(stats.in_use, 0, "{stats:?}");
    assert_eq!(stats.waiting, 0, "{stats:?}");
    assert_eq!(stats.available(), stats.capacity, "{stats:?}");
    assert_eq!(stats.admitted, stats.finished(), "{stats:?}");
}

/// Threads of this process whose name starts with `prefix` (Linux shows the first 15
/// bytes of a thread's name).
#[cfg(target_os = "linux")]
pub fn threads_named(prefix: &str) -> usize {
    let prefix = &prefix[..prefix.len().min(15)];
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end_matches('\n').starts_with(prefix))
        .count()
}

/// Waits until `threads_named(prefix) == n`, up to `timeout`; the count at the end.
///
/// The kernel removes an exited thread's `/proc` entry a moment after the thread is
/// joined, so a count taken right after a join may still see it.
#[cfg(target_os = "linux")]
pub fn wait_for_threads(prefix: &str, n: usize, timeout: Duration) -> usize {
    let deadline = Instant::now() + timeout;
    loop {
        let count = threads_named(prefix);
        if count == n || Instant::now() >= deadline {
            return count;
        }
        std::thread::yield_now();
    }
}
