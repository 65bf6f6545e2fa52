//! Heap allocations per admitted call, ours against the peers.
//!
//! Counts every allocation made while a loop of uncontended admit-and-release calls
//! runs, after a warm-up, and divides by the number of calls. Prints a table and writes
//! `target/bench/allocs.json` for `cargo xtask bench`:
//! `{"entries":[{"group":"allocs","name":..,"allocs_per_op":..,"benches":[..]}]}`, where
//! `benches` names the timed benchmarks (`group/name`) doing the same work. Under `cargo test` (no `--bench` argument) or with
//! `BULKHEAD_BENCH_QUICK=1` it runs fewer calls; under `cargo test` it writes nothing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use bulkhead_benches::{bench_output_dir, current_thread_runtime, guide, quick, Noop};
use bulkhead_semaphore::{SemaphoreBulkhead, SemaphoreConfig};
use metrics_exporter_prometheus::PrometheusBuilder;
use tokio::sync::Semaphore;
use tower::limit::ConcurrencyLimit;
use tower::{Layer, Service, ServiceBuilder, ServiceExt};

/// Wraps the system allocator and counts allocations (including reallocations).
///
/// `unsafe` is needed here because `GlobalAlloc` is an unsafe trait: its methods hand out
/// raw memory. Every call is forwarded unchanged to `System`, which upholds the
/// contract; the wrapper only bumps an atomic counter, which neither allocates nor
/// touches the memory.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: each method forwards its arguments unchanged to `System`, whose
// implementation meets `GlobalAlloc`'s contract; counting has no effect on the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        // SAFETY: forwarded as received; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        // SAFETY: forwarded as received; the caller upholds `alloc_zeroed`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        // SAFETY: forwarded as received; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as received; the caller upholds `dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const PERMITS: usize = 8;

/// One measured case: its name in the report and the benchmark it accompanies.
struct Case {
    name: &'static str,
    /// The timed benchmarks (`group/name`) that do the same work.
    benches: &'static [&'static str],
    allocs_per_op: f64,
}

/// Runs `$body` `$warm` times, then counts allocations over `$calls` runs of it.
/// Everything runs on the calling thread (a current-thread runtime has no other
/// threads), so the global counter sees only the measured code.
macro_rules! count {
    ($rt:expr, $warm:expr, $calls:expr, $body:block) => {{
        $rt.block_on(async {
            for _ in 0..$warm $body
            let before = ALLOCATIONS.load(Relaxed);
            for _ in 0..$calls $body
            let after = ALLOCATIONS.load(Relaxed);
            (after - before) as f64 / $calls as f64
        })
    }};
}

fn ours() -> SemaphoreBulkhead {
    let config = SemaphoreConfig::new(PERMITS)
        .max_wait(std::time::Duration::from_secs(10))
        .max_waiting(1024);
    SemaphoreBulkhead::new("bench", config).expect("valid config")
}

fn measure(calls: u64) -> Vec<Case> {
    let warm = 1_000u64;
    let rt = current_thread_runtime();
    let mut cases = Vec::new();
    let mut case = |name, benches, allocs_per_op| {
        cases.push(Case {
            name,
            benches,
            allocs_per_op,
        })
    };

    let bh = ours();
    case(
        "ours try_acquire+drop",
        &["uncontended/ours try_acquire+drop"],
        count!(rt, warm, calls, {
            drop(black_box(bh.try_acquire()));
        }),
    );
    case(
        "ours acquire+drop",
        &["uncontended/ours acquire+drop"],
        count!(rt, warm, calls, {
            drop(black_box(bh.acquire().await));
        }),
    );
    case(
        "ours execute",
        &["uncontended/ours execute"],
        count!(rt, warm, calls, {
            black_box(bh.execute(async {}).await).expect("admitted");
        }),
    );
    case(
        "ours try_acquire_owned+drop",
        &["uncontended/ours try_acquire_owned+drop"],
        count!(rt, warm, calls, {
            drop(black_box(bh.try_acquire_owned()));
        }),
    );

    let mut layered = ServiceBuilder::new()
        .layer(bulkhead_tower::BulkheadLayer::new(bh.clone()))
        .service(Noop);
    case(
        "ours BulkheadLayer",
        &["tower/ours BulkheadLayer"],
        count!(rt, warm, calls, {
            let svc = layered.ready().await.expect("ready");
            black_box(svc.call(()).await).expect("call");
        }),
    );

    let sem = Semaphore::new(PERMITS);
    case(
        "tokio acquire+drop",
        &["uncontended/tokio acquire+drop"],
        count!(rt, warm, calls, {
            drop(black_box(sem.acquire().await));
        }),
    );

    let mut limit = ConcurrencyLimit::new(Noop, PERMITS);
    case(
        "tower ConcurrencyLimit",
        &[
            "uncontended/tower ConcurrencyLimit",
            "tower/tower ConcurrencyLimit",
        ],
        count!(rt, warm, calls, {
            let svc = limit.ready().await.expect("ready");
            black_box(svc.call(()).await).expect("call");
        }),
    );

    let mut resilience = tower_resilience_bulkhead::BulkheadLayer::builder()
        .max_concurrent_calls(PERMITS)
        .name("bench")
        .build()
        .expect("valid config")
        .layer(Noop);
    case(
        "tower-resilience-bulkhead",
        &["uncontended/tower-resilience-bulkhead"],
        count!(rt, warm, calls, {
            let svc = resilience.ready().await.expect("ready");
            black_box(svc.call(()).await).expect("call");
        }),
    );

    let theirs = guide::SemaphoreBulkhead::new("bench", PERMITS, 10);
    case(
        "guide (bare)",
        &["uncontended/guide (bare)"],
        count!(rt, warm, calls, {
            black_box(theirs.execute(async {}).await).expect("admitted");
        }),
    );
    let recorder = PrometheusBuilder::new().build_recorder();
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::fmt()
            .with_writer(std::io::sink)
            .finish(),
    );
    let observed = metrics::with_local_recorder(&recorder, || {
        tracing::dispatcher::with_default(&dispatch, || {
            count!(rt, warm, calls, {
                black_box(theirs.execute(async {}).await).expect("admitted");
            })
        })
    });
    case(
        "guide (recorder+fmt)",
        &["uncontended/guide (recorder+fmt)"],
        observed,
    );
    cases
}

fn main() {
    let smoke = quick();
    let calls = if smoke { 1_000 } else { 100_000 };
    let cases = measure(calls);

    println!("{:<32} {:>14}", "allocs (per admitted call)", "allocs/op");
    for c in &cases {
        println!("{:<32} {:>14.3}", c.name, c.allocs_per_op);
    }

    let benching = std::env::args().any(|a| a == "--bench");
    if !benching {
        return;
    }
    let entries: Vec<serde_json::Value> = cases
        .iter()
        .map(|c| {
            serde_json::json!({
                "group": "allocs",
                "name": c.name,
                "benches": c.benches,
                "allocs_per_op": c.allocs_per_op,
                "calls": calls,
            })
        })
        .collect();
    let report = serde_json::json!({ "quick": smoke, "entries": entries });
    let dir = bench_output_dir();
    let path = dir.join("allocs.json");
    let text = serde_json::to_string_pretty(&report).expect("serializable");
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, text)) {
        eprintln!("error: cannot write {}: {e}", path.display());
        std::process::exit(1);
    }
    println!("wrote {}", path.display());
}
