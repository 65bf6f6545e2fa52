//! Runtime compartments against their peers.
//!
//! - `runtime-dispatch`: one caller, on a current-thread runtime, hands a no-op future
//!   to a dedicated two-worker runtime and awaits its result: the latency of one
//!   dispatch, mostly two thread wake-ups. Ours: `execute` and the tower `RuntimeLayer`.
//!   Each is measured alternating in blocks with its peer, so both see the same machine.
//! - `runtime-dispatch-cpu`: the same dispatches, measured in CPU time of the whole
//!   process (caller and workers) instead of wall time: the work a dispatch costs. On a
//!   shared 2-vCPU machine the wall time of a dispatch swings by 2x between runs with
//!   the scheduling latency of the threads; the work does not. The target is set on
//!   this group.
//!   Peers: a raw `Handle::spawn` + `JoinHandle` onto a runtime of the same shape, and
//!   `tower-resilience-executor`'s `ExecutorLayer` onto one. Reference: `tokio::spawn`
//!   on the caller's own runtime, which hops no thread (the floor, not a peer: it
//!   isolates nothing).
//! - `runtime-throughput`: 16 callers on one current-thread runtime each dispatch no-op
//!   futures back to back, so many are in flight and the workers rarely sleep: what is
//!   left is the per-task cost, where ours pays for its accounting (a queue slot, the
//!   in-flight count that shutdown drains, the tokio-metrics task monitor). No target.
//! - `runtime-saturated`: 32 callers on a two-worker runtime keep submitting work (a
//!   short spin) to a compartment with 8 queue slots that fails fast, so most
//!   submissions are refused. Peer: the same bound written by hand, a raw
//!   `Handle::spawn` guarded by `Semaphore::try_acquire_owned`, which counts nothing and
//!   says nothing about a refusal. Every submission, admitted or refused, counts as one
//!   call. No target.
//!
//! Every dedicated runtime (ours included) has two workers, tokio's timer and no I/O
//! driver, and is otherwise idle.

use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bulkhead_benches::{
    async_loop, current_thread_runtime, multi_thread_runtime, paired_benches, quick, timing, Noop,
};
use bulkhead_runtime::{RuntimeBulkhead, RuntimeConfig};
use bulkhead_tower::RuntimeLayer;
use cpu_time::ProcessTime;
use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode, Throughput,
};
use tokio::runtime::{Handle, Runtime};
use tokio::sync::Semaphore;
use tower::{Layer, Service, ServiceExt};

/// Workers of every dedicated runtime.
const WORKERS: usize = 2;
/// Queue slots of the saturated compartment.
const SLOTS: usize = 8;
/// Callers keeping dispatches in flight in the throughput group.
const PIPELINED: usize = 16;
/// Callers hammering the saturated compartment.
const CALLERS: usize = 32;

/// Dispatches per block of `paired_loop`.
const DISPATCH_BLOCK: u64 = 32;

fn ours(name: &str, slots: usize) -> RuntimeBulkhead {
    let config = RuntimeConfig::default()
        .worker_threads(WORKERS)
        .queue_capacity(slots);
    RuntimeBulkhead::new(name, config).expect("valid config")
}

fn configure(group: &mut BenchmarkGroup<'_, WallTime>) {
    let (warm_up, measurement) = timing();
    group.warm_up_time(warm_up).measurement_time(measurement);
    group.sample_size(if quick() { 10 } else { 50 });
}

fn dispatch(c: &mut Criterion) {
    let caller = current_thread_runtime();
    let mut group = c.benchmark_group("runtime-dispatch");
    configure(&mut group);

    let bh = ours("bench-dispatch", 1024);
    let raw = multi_thread_runtime(WORKERS);
    let handle = raw.handle().clone();
    let layered = RuntimeLayer::new(ours("bench-layer", 1024)).layer(Noop);
    let executor_rt = multi_thread_runtime(WORKERS);
    let executor =
        tower_resilience_executor::ExecutorLayer::new(executor_rt.handle().clone()).layer(Noop);
    let ours_execute = || async { black_box(bh.execute(async {}).await).expect("ran") };
    let raw_spawn = || async { black_box(handle.spawn(async {}).await).expect("ran") };
    let through_layer = || {
        let mut svc = layered.clone();
        async move {
            let svc = svc.ready().await.expect("ready");
            black_box(svc.call(()).await).expect("served");
        }
    };
    let through_executor = || {
        let mut svc = executor.clone();
        async move {
            let svc = svc.ready().await.expect("ready");
            black_box(svc.call(()).await).expect("served");
        }
    };

    // Wall time: the latency a caller sees, mostly thread wake-ups.
    paired_benches!(
        group,
        caller,
        Instant,
        DISPATCH_BLOCK,
        "runtime-dispatch.execute",
        ours "ours execute" => { ours_execute().await },
        peer "raw Handle::spawn" => { raw_spawn().await },
    );
    paired_benches!(
        group,
        caller,
        Instant,
        DISPATCH_BLOCK,
        "runtime-dispatch.layer",
        ours "ours RuntimeLayer" => { through_layer().await },
        peer "tower-resilience-executor" => { through_executor().await },
    );
    group.bench_function("tokio::spawn (caller's runtime)", |b| {
        async_loop!(b, caller, {
            black_box(tokio::spawn(async {}).await).expect("ran");
        })
    });
    group.finish();

    // CPU time of the whole process (the caller and every worker): what a dispatch
    // costs in work, which the machine's scheduling latency does not blur.
    let mut group = c.benchmark_group("runtime-dispatch-cpu");
    configure(&mut group);
    paired_benches!(
        group,
        caller,
        ProcessTime,
        DISPATCH_BLOCK,
        "runtime-dispatch-cpu.execute",
        ours "ours execute" => { ours_execute().await },
        peer "raw Handle::spawn" => { raw_spawn().await },
    );
    paired_benches!(
        group,
        caller,
        ProcessTime,
        DISPATCH_BLOCK,
        "runtime-dispatch-cpu.layer",
        ours "ours RuntimeLayer" => { through_layer().await },
        peer "tower-resilience-executor" => { through_executor().await },
    );
    group.finish();

    // The compartments' runtimes stop in the background; the raw ones here, outside
    // any runtime.
    drop((bh, layered, executor));
    raw.shutdown_timeout(Duration::from_secs(1));
    executor_rt.shutdown_timeout(Duration::from_secs(1));
}

/// Runs `calls` dispatches on each of `PIPELINED` caller tasks of the current-thread
/// runtime `rt`; the time until the last answer.
fn pipelined_round<D, F>(rt: &Runtime, calls: usize, dispatch: D) -> Duration
where
    D: Fn() -> F + Clone + 'static,
    F: Future<Output = ()> + 'static,
{
    let local = tokio::task::LocalSet::new();
    local.block_on(rt, async {
        let start = Instant::now();
        let callers: Vec<_> = (0..PIPELINED)
            .map(|_| {
                let dispatch = dispatch.clone();
                tokio::task::spawn_local(async move {
                    for _ in 0..calls {
                        dispatch().await;
                    }
                })
            })
            .collect();
        for caller in callers {
            caller.await.expect("caller");
        }
        start.elapsed()
    })
}

fn throughput(c: &mut Criterion) {
    let calls: usize = if quick() { 20 } else { 500 };
    let caller = current_thread_runtime();
    let mut group = c.benchmark_group("runtime-throughput");
    group
        .throughput(Throughput::Elements((PIPELINED * calls) as u64))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(if quick() { 10 } else { 30 });
    let (warm_up, measurement) = timing();
    group.warm_up_time(warm_up).measurement_time(measurement);

    let bh = ours("bench-throughput", 1024);
    group.bench_function("ours execute", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let bh = bh.clone();
                    pipelined_round(&caller, calls, move || {
                        let bh = bh.clone();
                        async move {
                            black_box(bh.execute(async {}).await).expect("ran");
                        }
                    })
                })
                .sum()
        })
    });

    let raw = multi_thread_runtime(WORKERS);
    let handle = raw.handle().clone();
    group.bench_function("raw Handle::spawn", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let handle = handle.clone();
                    pipelined_round(&caller, calls, move || {
                        let task = handle.spawn(async {});
                        async move {
                            black_box(task.await).expect("ran");
                        }
                    })
                })
                .sum()
        })
    });
    group.finish();
    drop(bh);
    raw.shutdown_timeout(Duration::from_secs(1));
}

/// A little CPU work, about a microsecond.
fn spin() {
    for i in 0..200_u32 {
        black_box(i);
    }
}

/// Runs `submit` `calls` times on each of `CALLERS` tasks; the time from the first
/// submission to the last answer.
fn saturated_round<S, F>(rt: &Runtime, calls: usize, submit: S) -> Duration
where
    S: Fn() -> F + Clone + Send + 'static,
    F: std::future::Future<Output = bool> + Send,
{
    rt.block_on(async {
        let start = Instant::now();
        let callers: Vec<_> = (0..CALLERS)
            .map(|_| {
                let submit = submit.clone();
                tokio::spawn(async move {
                    let mut admitted = 0_usize;
                    for _ in 0..calls {
                        admitted += usize::from(submit().await);
                    }
                    admitted
                })
            })
            .collect();
        for caller in callers {
            black_box(caller.await.expect("caller"));
        }
        start.elapsed()
    })
}

fn saturated(c: &mut Criterion) {
    let calls: usize = if quick() { 50 } else { 2_000 };
    let callers_rt = multi_thread_runtime(2);
    let mut group = c.benchmark_group("runtime-saturated");
    group
        .throughput(Throughput::Elements((CALLERS * calls) as u64))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10);
    if quick() {
        group
            .warm_up_time(Duration::from_millis(100))
            .measurement_time(Duration::from_millis(300));
    } else {
        group
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(4));
    }

    let bh = ours("bench-saturated", SLOTS);
    group.bench_function("ours execute (fail fast)", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let bh = bh.clone();
                    saturated_round(&callers_rt, calls, move || {
                        let bh = bh.clone();
                        async move { bh.execute(async { spin() }).await.is_ok() }
                    })
                })
                .sum()
        })
    });

    let raw = multi_thread_runtime(WORKERS);
    let handle: Handle = raw.handle().clone();
    let slots = Arc::new(Semaphore::new(SLOTS));
    group.bench_function("raw Handle::spawn + try_acquire", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let handle = handle.clone();
                    let slots = Arc::clone(&slots);
                    saturated_round(&callers_rt, calls, move || {
                        let handle = handle.clone();
                        let slots = Arc::clone(&slots);
                        async move {
                            let Ok(permit) = slots.try_acquire_owned() else {
                                return false;
                            };
                            let task = handle.spawn(async move {
                                spin();
                                drop(permit);
                            });
                            task.await.is_ok()
                        }
                    })
                })
                .sum()
        })
    });
    group.finish();

    drop(bh);
    raw.shutdown_timeout(Duration::from_secs(1));
}

criterion_group!(benches, dispatch, throughput, saturated);
criterion_main!(benches);
