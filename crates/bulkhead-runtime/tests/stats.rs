//! Compartment stats and events, and the tokio-metrics figures.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bulkhead_runtime::{Compartment, RuntimeBulkhead, RuntimeConfig};
use common::{assert_adds_up, compartment, spin_on, within, Events, Gate, Started};
use tokio::time::timeout;

const PATIENCE: Duration = Duration::from_secs(10);

fn explode() -> u8 {
    panic!("planned panic")
}

#[tokio::test]
async fn stats_and_events_add_up_as_for_the_semaphore() {
    let events = Arc::new(Events::default());
    let cpu = RuntimeBulkhead::builder("counted")
        .worker_threads(1)
        .queue_capacity(2)
        .observer(events.clone())
        .build()
        .expect("valid config");
    assert_eq!((cpu.name(), cpu.kind()), ("counted", "runtime"));

    for i in 0..3 {
        assert_eq!(cpu.execute(async move { i }).await, Ok(i));
    }
    assert!(cpu.execute_blocking(|| ()).await.is_ok());
    assert!(cpu
        .execute_result(async { Err::<(), _>("bad") })
        .await
        .is_err());
    assert!(cpu.execute(async { explode() }).await.is_err());
    let cancelled = cpu
        .try_spawn(std::future::pending::<()>())
        .expect("admitted");
    let gate = Gate::new();
    let held = cpu
        .try_spawn({
            let gate = gate.clone();
            async move { gate.pass().await }
        })
        .expect("admitted");
    assert!(cpu.try_spawn(async {}).is_err());
    assert!(cpu.execute(async {}).await.is_err());
    drop(cancelled);
    gate.open();
    held.await.expect("ran");
    within(cpu.idle()).await;

    let stats = cpu.stats();
    assert_adds_up(&stats);
    assert_eq!(stats.admitted, 8);
    assert_eq!(stats.completed, 5);
    assert_eq!((stats.failed, stats.panicked, stats.cancelled), (1, 1, 1));
    assert_eq!(stats.rejected.full, 2);
    assert_eq!(stats.attempts(), 10);

    assert_eq!(Events::get(&events.admitted), stats.admitted);
    assert_eq!(Events::get(&events.rejected), stats.rejected.total());
    assert_eq!(Events::get(&events.ok), stats.completed);
    assert_eq!(Events::get(&events.error), stats.failed);
    assert_eq!(Events::get(&events.panic), stats.panicked);
    assert_eq!(Events::get(&events.cancelled), stats.cancelled);
    assert_eq!(events.finished(), stats.finished());
    assert!(events.kinds.lock().unwrap().iter().all(|k| *k == "runtime"));

    cpu.close();
    assert_eq!(Events::get(&events.closed), 1);
    assert!(cpu.stats().closed);
}

#[tokio::test]
async fn runtime_stats_count_workers_and_the_tasks_of_each_interval() {
    let cpu = compartment("figures", 2, 16);
    for _ in 0..10 {
        cpu.execute(async { tokio::task::yield_now().await })
            .await
            .expect("ran");
    }
    let first = cpu.runtime_stats();
    assert_eq!(first.workers, 2);
    assert!((1..=2 + 16).contains(&first.threads), "{first:?}");
    assert_eq!(first.tasks.submitted, 10, "{first:?}");
    assert_eq!(first.tasks.started, 10, "{first:?}");
    assert_eq!(first.tasks.ended, 10, "{first:?}");
    assert!(first.tasks.polls >= 20, "{first:?}");
    assert!(first.tasks.scheduled >= 10, "{first:?}");
    assert!(first.elapsed > Duration::ZERO);
    assert!((0.0..=1.0).contains(&first.busy_ratio()));

    // The next sample covers only what happened since.
    let second = cpu.runtime_stats();
    assert_eq!(second.tasks.submitted, 0, "{second:?}");
    assert_eq!(second.tasks.polls, 0, "{second:?}");
}

#[tokio::test]
async fn busy_time_counts_a_task_that_keeps_a_worker_busy() {
    let cpu = compartment("busy-time", 1, 4);
    let spin = Duration::from_millis(30);
    cpu.execute(async move {
        let start = Instant::now();
        while start.elapsed() < spin {
            std::hint::spin_loop();
        }
    })
    .await
    .expect("ran");

    // A worker adds its busy time when it runs out of work, a moment after the task
    // has returned; take samples until it shows up.
    let deadline = Instant::now() + PATIENCE;
    let mut busy = Duration::ZERO;
    while busy < spin && Instant::now() < deadline {
        busy += cpu.runtime_stats().busy;
        tokio::task::yield_now().await;
    }
    assert!(busy >= spin, "busy {busy:?}");
}

#[tokio::test]
async fn queue_depth_and_first_poll_delay_count_work_waiting_for_a_worker() {
    let cpu = compartment("waiting-work", 1, 8);
    let stop = Arc::new(AtomicBool::new(false));
    let mut started = Started::new();
    let blocker = cpu
        .try_spawn({
            let stop = Arc::clone(&stop);
            let signal = started.signal();
            async move {
                let _ = signal.send(());
                spin_on("waiting-work", &stop);
            }
        })
        .expect("admitted");
    started.wait(1).await;
    let _ = cpu.runtime_stats();

    // The only worker is busy: these wait in the global queue.
    let queued: Vec<_> = (0..3)
        .map(|_| cpu.try_spawn(async {}).expect("admitted"))
        .collect();
    let submitted = Instant::now();
    let during = cpu.runtime_stats();
    assert_eq!(during.global_queue_depth, 3, "{during:?}");
    assert_eq!(during.alive_tasks, 4, "{during:?}");
    assert_eq!(cpu.stats().in_use, 4);

    let released = Instant::now();
    stop.store(true, Ordering::Release);
    within(blocker).await.expect("ran");
    for handle in queued {
        within(handle).await.expect("ran");
    }
    let after = cpu.runtime_stats();
    assert_eq!(after.tasks.started, 3, "{after:?}");
    // Each queued task waited at least from its submission until the worker was freed.
    let waited_at_least = released - submitted;
    assert!(
        after.tasks.first_poll_delay >= waited_at_least * 3,
        "{after:?}"
    );
    assert!(
        after.tasks.mean_first_poll_delay() >= waited_at_least,
        "{after:?}"
    );
    assert_eq!(after.global_queue_depth, 0, "{after:?}");
}

#[tokio::test]
async fn the_sampler_keeps_the_latest_figures_every_interval() {
    let cpu = RuntimeBulkhead::new(
        "sampled",
        RuntimeConfig::default()
            .worker_threads(2)
            .metrics_interval(Some(Duration::from_millis(5))),
    )
    .expect("valid config");
    let mut samples = cpu.watch_runtime_stats();
    cpu.execute(async {}).await.expect("ran");
    for _ in 0..2 {
        timeout(PATIENCE, samples.changed())
            .await
            .expect("a sample within the interval")
            .expect("the sampler runs");
    }
    let latest = cpu.latest_runtime_stats().expect("a sample");
    assert_eq!(latest.workers, 2);
    assert!(latest.elapsed > Duration::ZERO, "{latest:?}");
    // The sampler task itself is alive in the runtime.
    assert!(latest.alive_tasks >= 1, "{latest:?}");
}

#[tokio::test]
async fn without_an_interval_nothing_is_sampled_in_the_background() {
    let cpu = compartment("unsampled", 1, 4);
    cpu.execute(async {}).await.expect("ran");
    assert!(cpu.latest_runtime_stats().is_none());
}

#[cfg(tokio_unstable)]
#[tokio::test]
async fn with_tokio_unstable_polls_and_remote_schedules_are_counted() {
    let cpu = compartment("unstable", 1, 8);
    let _ = cpu.runtime_stats();
    for _ in 0..5 {
        cpu.execute(async {}).await.expect("ran");
    }
    let stats = cpu.runtime_stats();
    assert!(stats.unstable.remote_schedules >= 5, "{stats:?}");
    assert!(stats.unstable.polls >= 5, "{stats:?}");
}
