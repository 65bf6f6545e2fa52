//! Shared pieces of the bulkhead benchmarks: the peers' fixtures, run settings and the
//! place results are written to.
//!
//! Each area has one criterion harness under `benches/` (`semaphore`, ...) plus the
//! `allocs` binary that counts heap allocations per admitted call. `cargo xtask bench`
//! runs them all and turns their output into `target/bench/report.{json,md}`.

pub mod guide;

/// Times `iters` runs of `$body` inside one `block_on` on the tokio runtime `$rt`, for
/// criterion's `iter_custom`.
#[macro_export]
macro_rules! async_loop {
    ($b:expr, $rt:expr, $body:block) => {
        $b.iter_custom(|iters| {
            $rt.block_on(async {
                let start = ::std::time::Instant::now();
                for _ in 0..iters $body
                start.elapsed()
            })
        })
    };
}

/// Compares ours with its peer in the same windows: runs `iters` calls of `$ours` and
/// as many of `$peer` inside one `block_on` on the tokio runtime `$rt`, alternating in
/// blocks of `$block`, each block timed with the clock `$clock` (anything with `now()`
/// and `elapsed()`: `Instant`, or `cpu_time`'s `ThreadTime` and `ProcessTime`).
///
/// Criterion gets the time of the side named by `measure ours` or `measure peer`, so
/// each side has its own benchmark; both sides' times of every sample go to
/// [`record_pair`] under the comparison's name `$pair`, and `cargo xtask bench` checks
/// the target on the ratio of ours to the peer within the same samples. Two benchmarks
/// run one after the other can land in different states of a shared machine (thread
/// wake-ups on this one switch between about 25 and 45 us for seconds at a time); two
/// sides alternating every block cannot.
#[macro_export]
macro_rules! paired_loop {
    ($b:expr, $rt:expr, $clock:ty, $block:expr, $pair:expr, measure ours, $ours:block, $peer:block) => {
        $crate::paired_loop!(@run $b, $rt, $clock, $block, $pair, true, $ours, $peer)
    };
    ($b:expr, $rt:expr, $clock:ty, $block:expr, $pair:expr, measure peer, $ours:block, $peer:block) => {
        $crate::paired_loop!(@run $b, $rt, $clock, $block, $pair, false, $ours, $peer)
    };
    (@run $b:expr, $rt:expr, $clock:ty, $block:expr, $pair:expr, $report_ours:expr, $ours:block, $peer:block) => {
        $b.iter_custom(|iters| {
            $rt.block_on(async {
                let mut ours_spent = ::std::time::Duration::ZERO;
                let mut peer_spent = ::std::time::Duration::ZERO;
                let mut done: u64 = 0;
                while done < iters {
                    let n = ($block).min(iters - done);
                    // The measured side goes first in each block, as it would alone.
                    if $report_ours {
                        let start = <$clock>::now();
                        for _ in 0..n $ours
                        ours_spent += start.elapsed();
                        let start = <$clock>::now();
                        for _ in 0..n $peer
                        peer_spent += start.elapsed();
                    } else {
                        let start = <$clock>::now();
                        for _ in 0..n $peer
                        peer_spent += start.elapsed();
                        let start = <$clock>::now();
                        for _ in 0..n $ours
                        ours_spent += start.elapsed();
                    }
                    done += n;
                }
                $crate::record_pair($pair, iters, $block, ours_spent, peer_spent);
                if $report_ours {
                    ours_spent
                } else {
                    peer_spent
                }
            })
        })
    };
}

/// Registers both sides of one paired comparison in the criterion group `$group`: a
/// benchmark called `$ours_name` that reports ours and one called `$peer_name` that
/// reports the peer, each running both sides through [`paired_loop!`] under the
/// comparison's name `$pair`. The sides are registered in the order written (`ours` or
/// `peer` first), which is the order they run in.
#[macro_export]
macro_rules! paired_benches {
    ($group:expr, $rt:expr, $clock:ty, $block:expr, $pair:expr,
     ours $ours_name:expr => $ours:block, peer $peer_name:expr => $peer:block $(,)?) => {
        $group.bench_function($ours_name, |b| {
            $crate::paired_loop!(b, $rt, $clock, $block, $pair, measure ours, $ours, $peer)
        });
        $group.bench_function($peer_name, |b| {
            $crate::paired_loop!(b, $rt, $clock, $block, $pair, measure peer, $ours, $peer)
        });
    };
    ($group:expr, $rt:expr, $clock:ty, $block:expr, $pair:expr,
     peer $peer_name:expr => $peer:block, ours $ours_name:expr => $ours:block $(,)?) => {
        $group.bench_function($peer_name, |b| {
            $crate::paired_loop!(b, $rt, $clock, $block, $pair, measure peer, $ours, $peer)
        });
        $group.bench_function($ours_name, |b| {
            $crate::paired_loop!(b, $rt, $clock, $block, $pair, measure ours, $ours, $peer)
        });
    };
}

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::{ready, Ready};
use std::path::PathBuf;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use tower::Service;

/// Environment variable that turns every harness into a smoke run taking seconds.
pub const QUICK_ENV: &str = "BULKHEAD_BENCH_QUICK";

/// Whether this is a smoke run: `BULKHEAD_BENCH_QUICK=1`, `--quick` on the command line,
/// or a harness run by `cargo test` (which does not pass `--bench`).
pub fn quick() -> bool {
    let env = std::env::var(QUICK_ENV).is_ok_and(|v| !v.is_empty() && v != "0");
    let args: Vec<String> = std::env::args().collect();
    env || args.iter().any(|a| a == "--quick") || !args.iter().any(|a| a == "--bench")
}

/// Warm-up and measurement time for benches of one call: short enough that a full run
/// of every harness fits in a few minutes on two cores.
pub fn timing() -> (Duration, Duration) {
    if quick() {
        (Duration::from_millis(100), Duration::from_millis(300))
    } else {
        (Duration::from_secs(1), Duration::from_secs(2))
    }
}

/// A current-thread runtime with timers, for uncontended async benches.
pub fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("current-thread runtime")
}

/// A multi-thread runtime with `workers` worker threads and timers.
pub fn multi_thread_runtime(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_time()
        .build()
        .expect("multi-thread runtime")
}

/// A service that does nothing and answers at once, without allocating.
#[derive(Debug, Clone, Copy, Default)]
pub struct Noop;

impl Service<()> for Noop {
    type Response = ();
    type Error = Infallible;
    type Future = Ready<Result<(), Infallible>>;

    #[inline]
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    #[inline]
    fn call(&mut self, _req: ()) -> Self::Future {
        ready(Ok(()))
    }
}

/// The cargo target directory: `CARGO_TARGET_DIR` when set, otherwise the nearest
/// `target` directory above the running binary, otherwise the workspace's `target`.
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe
            .ancestors()
            .find(|p| p.file_name().is_some_and(|n| n == "target"))
        {
            return dir.to_path_buf();
        }
        // Bench binaries live in `<target>/<profile>/deps/`.
        let mut up = exe.ancestors().skip(1);
        if up.next().is_some_and(|deps| deps.ends_with("deps")) {
            if let Some(dir) = up.nth(1) {
                return dir.to_path_buf();
            }
        }
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target"))
}

/// Environment variable naming the directory bench binaries write their own results
/// to; `cargo xtask bench` sets it.
pub const OUT_DIR_ENV: &str = "BULKHEAD_BENCH_DIR";

/// Where `cargo xtask bench` collects results: `BULKHEAD_BENCH_DIR`, else `<target>/bench`.
pub fn bench_output_dir() -> PathBuf {
    match std::env::var_os(OUT_DIR_ENV) {
        Some(dir) => PathBuf::from(dir),
        None => target_dir().join("bench"),
    }
}

/// The samples of every comparison this process ran: ours' and the peer's time, in ns.
static PAIRS: Mutex<BTreeMap<String, Vec<[f64; 2]>>> = Mutex::new(BTreeMap::new());

/// Records one sample of the comparison `pair` (from [`paired_loop!`]): `iters` calls of
/// each side took `ours` and `peer`. Samples shorter than one `block` (criterion's first
/// warm-up calls) are left out. Rewrites `<bench output>/paired/<pair>.json`, which
/// `cargo xtask bench` reads: `{"pair", "samples": [[ours_ns, peer_ns], ...]}`.
pub fn record_pair(pair: &str, iters: u64, block: u64, ours: Duration, peer: Duration) {
    if iters < block {
        return;
    }
    let mut pairs = PAIRS.lock().unwrap_or_else(|e| e.into_inner());
    let samples = pairs.entry(pair.to_owned()).or_default();
    samples.push([ours.as_nanos() as f64, peer.as_nanos() as f64]);
    let dir = bench_output_dir().join("paired");
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        let text = serde_json::json!({ "pair": pair, "samples": samples }).to_string();
        std::fs::write(dir.join(format!("{pair}.json")), text)
    });
    if let Err(e) = written {
        panic!(
            "cannot write the samples of {pair} under {}: {e}",
            dir.display()
        );
    }
}
