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

/// Measures `iters` runs of `$measured` inside one `block_on` on the tokio runtime `$rt`
/// with the clock `$clock` (anything with `now()` and `elapsed()`: `Instant`, or
/// `cpu_time`'s `ThreadTime` and `ProcessTime`), alternating in blocks of `$block` with
/// as many unmeasured runs of `$paired`. Ours and its peer then run under the same
/// conditions, rather than one after the other while the load of a shared machine
/// drifts; the clock is read once per block.
#[macro_export]
macro_rules! paired_loop {
    ($b:expr, $rt:expr, $clock:ty, $block:expr, $measured:block, $paired:block) => {
        $b.iter_custom(|iters| {
            $rt.block_on(async {
                let mut spent = ::std::time::Duration::ZERO;
                let mut done: u64 = 0;
                while done < iters {
                    let n = ($block).min(iters - done);
                    let start = <$clock>::now();
                    for _ in 0..n $measured
                    spent += start.elapsed();
                    for _ in 0..n $paired
                    done += n;
                }
                spent
            })
        })
    };
}

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::path::PathBuf;
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
