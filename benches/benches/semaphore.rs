//! Semaphore compartments against their peers.
//!
//! Every benchmark in a group does the same work: admit one call, then release its slot.
//!
//! - `uncontended`: one caller, slots always free. Peers: tokio's `Semaphore`, tower's
//!   `ConcurrencyLimit`, `tower-resilience-bulkhead`, and the original guide's
//!   `SemaphoreBulkhead` with and without a Prometheus recorder and a tracing subscriber.
//! - `contended`: 64 tasks on a two-worker runtime share 8 slots and hammer them: each
//!   call takes a slot, does a little work and releases it without yielding. This is
//!   where tokio's cooperative budget makes a plain `acquire().await` yield every 128
//!   calls while a try-first admission keeps going.
//! - `contended-yield`: the same, but each call yields once while holding its slot, so
//!   slots are really scarce and most admissions wait in the queue (no target; it shows
//!   the cost of a bounded wait: ours arms a timer for `max_wait`, the peers wait
//!   without a deadline).
//! - `tower`: the same no-op service behind `bulkhead-tower` and behind tower's
//!   `ConcurrencyLimit`.
//!
//! Async benches drive one `block_on` per sample around a plain loop, so the measured
//! loop builds only the futures of the code under test.

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::time::{Duration, Instant};

use bulkhead_benches::{
    async_loop, current_thread_runtime, guide, multi_thread_runtime, quick, timing, Noop,
};
use bulkhead_semaphore::{SemaphoreBulkhead, SemaphoreConfig};
use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode, Throughput,
};
use metrics_exporter_prometheus::PrometheusBuilder;
use tokio::runtime::Runtime;
use tokio::sync::Semaphore;
use tower::limit::{ConcurrencyLimit, ConcurrencyLimitLayer};
use tower::{Layer, Service, ServiceBuilder, ServiceExt};

/// Slots in every compartment.
const PERMITS: usize = 8;
/// Tasks sharing the slots in the `contended` group.
const TASKS: usize = 64;

/// Our compartment, allowed to wait (as the contended group needs) so that `acquire`
/// takes its usual path.
fn ours() -> SemaphoreBulkhead {
    let config = SemaphoreConfig::new(PERMITS)
        .max_wait(Duration::from_secs(10))
        .max_waiting(1024);
    SemaphoreBulkhead::new("bench", config).expect("valid config")
}

fn configure(group: &mut BenchmarkGroup<'_, WallTime>) {
    let (warm_up, measurement) = timing();
    group.warm_up_time(warm_up).measurement_time(measurement);
    if quick() {
        group.sample_size(10);
    } else {
        group.sample_size(50);
    }
}

fn uncontended(c: &mut Criterion) {
    let rt = current_thread_runtime();
    let mut group = c.benchmark_group("uncontended");
    configure(&mut group);

    let sem = Semaphore::new(PERMITS);
    group.bench_function("tokio acquire+drop", |b| {
        async_loop!(b, rt, {
            drop(black_box(sem.acquire().await));
        })
    });
    group.bench_function("tokio try_acquire+drop", |b| {
        b.iter(|| drop(black_box(sem.try_acquire())))
    });

    let mut limit = ConcurrencyLimit::new(Noop, PERMITS);
    group.bench_function("tower ConcurrencyLimit", |b| {
        async_loop!(b, rt, {
            let svc = limit.ready().await.expect("ready");
            black_box(svc.call(()).await).expect("call");
        })
    });

    let mut resilience = tower_resilience_bulkhead::BulkheadLayer::builder()
        .max_concurrent_calls(PERMITS)
        .name("bench")
        .build()
        .expect("valid config")
        .layer(Noop);
    group.bench_function("tower-resilience-bulkhead", |b| {
        async_loop!(b, rt, {
            let svc = resilience.ready().await.expect("ready");
            black_box(svc.call(()).await).expect("call");
        })
    });

    // Without a recorder or subscriber installed. Measured before the subscriber below
    // exists, so tracing's callsites see no subscriber at all.
    let theirs = guide::SemaphoreBulkhead::new("bench", PERMITS, 10);
    group.bench_function("guide (bare)", |b| {
        async_loop!(b, rt, {
            black_box(theirs.execute(async {}).await).expect("admitted");
        })
    });
    {
        // As the guide runs in a service: a Prometheus recorder and a fmt subscriber
        // (writing to a sink, so only formatting is measured, not terminal I/O).
        let recorder = PrometheusBuilder::new().build_recorder();
        let dispatch = tracing::Dispatch::new(
            tracing_subscriber::fmt()
                .with_writer(std::io::sink)
                .finish(),
        );
        group.bench_function("guide (recorder+fmt)", |b| {
            b.iter_custom(|iters| {
                metrics::with_local_recorder(&recorder, || {
                    tracing::dispatcher::with_default(&dispatch, || {
                        rt.block_on(async {
                            let start = Instant::now();
                            for _ in 0..iters {
                                black_box(theirs.execute(async {}).await).expect("admitted");
                            }
                            start.elapsed()
                        })
                    })
                })
            })
        });
    }

    let bh = ours();
    group.bench_function("ours try_acquire+drop", |b| {
        b.iter(|| drop(black_box(bh.try_acquire())))
    });
    group.bench_function("ours acquire+drop", |b| {
        async_loop!(b, rt, {
            drop(black_box(bh.acquire().await));
        })
    });
    group.bench_function("ours execute", |b| {
        async_loop!(b, rt, {
            black_box(bh.execute(async {}).await).expect("admitted");
        })
    });
    group.bench_function("ours try_acquire_owned+drop", |b| {
        b.iter(|| drop(black_box(bh.try_acquire_owned())))
    });
    group.finish();
}

/// Runs `task()` on `TASKS` spawned tasks and waits for all of them; returns the time
/// from the first spawn to the last completion.
fn contended_round<T, F>(rt: &Runtime, task: T) -> Duration
where
    T: Fn() -> F,
    F: Future<Output = ()> + Send + 'static,
{
    rt.block_on(async {
        let start = Instant::now();
        let handles: Vec<_> = (0..TASKS).map(|_| tokio::spawn(task())).collect();
        for handle in handles {
            handle.await.expect("bench task panicked");
        }
        start.elapsed()
    })
}

/// Work done while holding a slot.
async fn hold(yield_while_holding: bool) {
    if yield_while_holding {
        tokio::task::yield_now().await;
    } else {
        black_box(());
    }
}

fn contended(c: &mut Criterion) {
    contended_group(c, "contended", false);
    contended_group(c, "contended-yield", true);
}

fn contended_group(c: &mut Criterion, name: &str, yield_while_holding: bool) {
    // Calls per task: one benchmark iteration is TASKS * calls calls.
    let calls: usize = if quick() { 200 } else { 10_000 };
    let rt = multi_thread_runtime(2);
    let mut group = c.benchmark_group(name);
    group
        .throughput(Throughput::Elements((TASKS * calls) as u64))
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

    let bh = ours();
    group.bench_function("ours acquire", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    contended_round(&rt, || {
                        let bh = bh.clone();
                        async move {
                            for _ in 0..calls {
                                let permit = bh.acquire().await.expect("admitted");
                                hold(yield_while_holding).await;
                                drop(permit);
                            }
                        }
                    })
                })
                .sum()
        })
    });

    let sem = std::sync::Arc::new(Semaphore::new(PERMITS));
    group.bench_function("tokio acquire", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    contended_round(&rt, || {
                        let sem = sem.clone();
                        async move {
                            for _ in 0..calls {
                                let permit = sem.acquire().await.expect("open");
                                hold(yield_while_holding).await;
                                drop(permit);
                            }
                        }
                    })
                })
                .sum()
        })
    });

    let limit = ConcurrencyLimit::new(
        tower::service_fn(move |()| async move {
            hold(yield_while_holding).await;
            Ok::<_, Infallible>(())
        }),
        PERMITS,
    );
    group.bench_function("tower ConcurrencyLimit", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    contended_round(&rt, || {
                        let mut svc = limit.clone();
                        async move {
                            for _ in 0..calls {
                                let ready = svc.ready().await.expect("ready");
                                ready.call(()).await.expect("call");
                            }
                        }
                    })
                })
                .sum()
        })
    });
    group.finish();
}

fn tower_layer(c: &mut Criterion) {
    let rt = current_thread_runtime();
    let mut group = c.benchmark_group("tower");
    configure(&mut group);

    let mut ours = ServiceBuilder::new()
        .layer(bulkhead_tower::BulkheadLayer::new(ours()))
        .service(Noop);
    group.bench_function("ours BulkheadLayer", |b| {
        async_loop!(b, rt, {
            let svc = ours.ready().await.expect("ready");
            black_box(svc.call(()).await).expect("call");
        })
    });

    let mut limit = ServiceBuilder::new()
        .layer(ConcurrencyLimitLayer::new(PERMITS))
        .service(Noop);
    group.bench_function("tower ConcurrencyLimit", |b| {
        async_loop!(b, rt, {
            let svc = limit.ready().await.expect("ready");
            black_box(svc.call(()).await).expect("call");
        })
    });
    group.finish();
}

criterion_group!(benches, uncontended, contended, tower_layer);
criterion_main!(benches);
