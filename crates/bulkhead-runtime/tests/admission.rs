//! The queue bound: rejections, bounded waits, closing, and slots freed by cancellation.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bulkhead_runtime::{ExecuteError, RejectReason, RuntimeBulkhead, RuntimeConfig};
use common::{assert_adds_up, compartment, spin_on, within, Gate, OnDrop, Started};
use futures::poll;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::mpsc;

fn waiting(name: &str, capacity: usize, max_wait: Duration, max_waiting: usize) -> RuntimeBulkhead {
    RuntimeBulkhead::new(
        name,
        RuntimeConfig::default()
            .worker_threads(1)
            .queue_capacity(capacity)
            .max_wait(max_wait)
            .max_waiting(max_waiting),
    )
    .expect("valid config")
}

fn rejection<T: std::fmt::Debug>(result: Result<T, ExecuteError>) -> RejectReason {
    result
        .expect_err("rejected")
        .rejected()
        .expect("a rejection")
        .reason()
}

#[tokio::test]
async fn a_full_queue_refuses_work_at_once_when_waiting_is_not_allowed() {
    let cpu = compartment("full", 2, 2);
    let gate = Gate::new();
    let held: Vec<_> = (0..2)
        .map(|_| {
            let gate = gate.clone();
            cpu.try_spawn(async move { gate.pass().await })
                .expect("admitted")
        })
        .collect();

    assert_eq!(
        cpu.try_spawn(async {}).unwrap_err().reason(),
        RejectReason::Full
    );
    assert_eq!(
        cpu.spawn(async {}).await.unwrap_err().reason(),
        RejectReason::Full
    );
    assert_eq!(rejection(cpu.execute(async {}).await), RejectReason::Full);
    let refused = cpu.execute_blocking(|| ()).await.unwrap_err();
    assert_eq!(refused.rejected().map(|r| r.compartment()), Some("full"));
    let stats = cpu.stats();
    assert_eq!((stats.in_use, stats.rejected.full), (2, 4));

    gate.open();
    for handle in held {
        handle.await.expect("ran");
    }
    assert_adds_up(&cpu.stats());
}

#[tokio::test]
async fn the_queue_bound_counts_tasks_waiting_for_a_worker_not_only_running_ones() {
    // One worker, three slots: one task runs, two wait inside the runtime.
    let cpu = compartment("queued", 1, 3);
    let gate = Gate::new();
    let mut started = Started::new();
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let gate = gate.clone();
            let signal = started.signal();
            cpu.try_spawn(async move {
                let _ = signal.send(());
                gate.pass().await;
            })
            .expect("admitted")
        })
        .collect();
    started.wait(1).await;

    assert_eq!(
        cpu.try_spawn(async {}).unwrap_err().reason(),
        RejectReason::Full
    );
    assert_eq!(cpu.stats().in_use, 3);
    gate.open();
    for handle in handles {
        handle.await.expect("ran");
    }
    assert_adds_up(&cpu.stats());
}

#[tokio::test]
async fn submissions_beyond_max_waiting_are_refused_with_queue_full() {
    let cpu = waiting("queue-full", 1, Duration::from_secs(60), 1);
    let gate = Gate::new();
    let running = cpu
        .try_spawn({
            let gate = gate.clone();
            async move { gate.pass().await }
        })
        .expect("admitted");

    let mut first_waiter = Box::pin(cpu.execute(async { "waited" }));
    assert!(poll!(&mut first_waiter).is_pending());
    assert_eq!(cpu.stats().waiting, 1);

    assert_eq!(
        rejection(cpu.execute(async { "no room" }).await),
        RejectReason::QueueFull
    );

    gate.open();
    running.await.expect("ran");
    assert_eq!(first_waiter.await, Ok("waited"));
    let stats = cpu.stats();
    assert_eq!((stats.admitted, stats.rejected.queue_full), (2, 1));
    assert_adds_up(&stats);
}

#[tokio::test(start_paused = true)]
async fn a_waiting_submission_times_out_after_max_wait() {
    let cpu = waiting("timeout", 1, Duration::from_millis(100), 8);
    let gate = Gate::new();
    let running = cpu
        .try_spawn({
            let gate = gate.clone();
            async move { gate.pass().await }
        })
        .expect("admitted");

    let err = cpu.execute(async {}).await.unwrap_err();
    let rejected = err.rejected().expect("a rejection");
    assert_eq!(
        rejected.reason(),
        RejectReason::Timeout {
            waited: Duration::from_millis(100)
        }
    );
    gate.open();
    running.await.expect("ran");
    assert_eq!(cpu.stats().rejected.timeout, 1);
}

#[tokio::test]
async fn waiting_submissions_get_freed_slots_in_arrival_order() {
    let cpu = waiting("fifo", 1, Duration::from_secs(60), 8);
    let gate = Gate::new();
    let running = cpu
        .try_spawn({
            let gate = gate.clone();
            async move { gate.pass().await }
        })
        .expect("admitted");

    let order = Arc::new(Mutex::new(Vec::new()));
    let mut waiters = Vec::new();
    for who in ["first", "second", "third"] {
        let order = Arc::clone(&order);
        let mut waiter = Box::pin(cpu.execute(async move { order.lock().unwrap().push(who) }));
        assert!(poll!(&mut waiter).is_pending());
        waiters.push(waiter);
    }
    gate.open();
    running.await.expect("ran");
    for result in futures::future::join_all(waiters).await {
        result.expect("ran");
    }
    assert_eq!(*order.lock().unwrap(), ["first", "second", "third"]);
}

#[tokio::test]
async fn closing_refuses_new_and_waiting_work_and_lets_admitted_work_finish() {
    let cpu = waiting("closing", 1, Duration::from_secs(60), 8);
    let gate = Gate::new();
    let running = cpu
        .try_spawn({
            let gate = gate.clone();
            async move {
                gate.pass().await;
                "finished"
            }
        })
        .expect("admitted");
    let mut waiter = Box::pin(cpu.execute(async {}));
    assert!(poll!(&mut waiter).is_pending());

    cpu.close();
    assert!(cpu.is_closed());
    assert_eq!(rejection(waiter.await), RejectReason::Closed);
    assert_eq!(rejection(cpu.execute(async {}).await), RejectReason::Closed);

    gate.open();
    assert_eq!(running.await, Ok("finished"));
    let stats = cpu.stats();
    assert_eq!((stats.rejected.closed, stats.completed), (2, 1));
    assert_adds_up(&stats);
}

#[tokio::test]
async fn dropping_execute_aborts_the_task_and_frees_its_slot() {
    let cpu = compartment("drop-execute", 1, 1);
    let mut started = Started::new();
    let (dropped_tx, mut dropped) = mpsc::unbounded_channel();
    let signal = started.signal();
    let mut call = Box::pin(cpu.execute(async move {
        let _guard = OnDrop(Some(dropped_tx));
        let _ = signal.send(());
        std::future::pending::<()>().await;
    }));
    assert!(poll!(&mut call).is_pending());
    started.wait(1).await;
    assert_eq!(cpu.stats().in_use, 1);

    drop(call);
    within(dropped.recv())
        .await
        .expect("the task's future was dropped");
    within(cpu.idle()).await;
    let stats = cpu.stats();
    assert_eq!(stats.cancelled, 1);
    assert_adds_up(&stats);
    assert_eq!(
        cpu.execute(async { "slot is free" }).await,
        Ok("slot is free")
    );
}

#[tokio::test]
async fn dropping_the_handle_of_a_task_still_queued_frees_its_slot_without_running_it() {
    let cpu = compartment("drop-queued", 1, 2);
    let stop = Arc::new(AtomicBool::new(false));
    let mut started = Started::new();
    let blocker = cpu
        .try_spawn({
            let stop = Arc::clone(&stop);
            let signal = started.signal();
            async move {
                let _ = signal.send(());
                // Holds the only worker without yielding.
                spin_on("drop-queued", &stop);
            }
        })
        .expect("admitted");
    started.wait(1).await;

    let (ran_tx, mut ran) = mpsc::unbounded_channel::<()>();
    let queued = cpu
        .try_spawn(async move {
            let _ = ran_tx.send(());
        })
        .expect("admitted");
    drop(queued);

    stop.store(true, Ordering::Release);
    within(blocker).await.expect("ran");
    within(cpu.idle()).await;
    assert!(ran.recv().await.is_none(), "the aborted task never ran");
    let stats = cpu.stats();
    assert_eq!((stats.cancelled, stats.completed), (1, 1));
    assert_adds_up(&stats);
}

#[tokio::test]
async fn an_aborted_handle_resolves_to_cancelled() {
    let cpu = compartment("abort", 1, 1);
    let mut handle = cpu
        .try_spawn(std::future::pending::<()>())
        .expect("admitted");
    handle.abort();
    assert_eq!(within(handle).await, Err(ExecuteError::Cancelled));
    within(cpu.idle()).await;
    assert_eq!(cpu.stats().cancelled, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_drops_leave_no_slot_behind() {
    const CAPACITY: usize = 8;
    let cpu = RuntimeBulkhead::new(
        "random-drops",
        RuntimeConfig::default()
            .worker_threads(2)
            .queue_capacity(CAPACITY)
            .max_wait(Duration::from_millis(20))
            .max_waiting(32),
    )
    .expect("valid config");
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let callers: Vec<_> = (0..300)
        .map(|i| {
            let cpu = cpu.clone();
            let yields = rng.random_range(0..4);
            let give_up = Duration::from_micros(rng.random_range(0..400));
            let blocking = i % 7 == 0;
            let panics = i % 11 == 0;
            tokio::spawn(async move {
                let work = async move {
                    if blocking {
                        let _ = cpu
                            .execute_blocking(move || {
                                std::thread::yield_now();
                                assert!(!panics, "planned panic");
                            })
                            .await;
                    } else {
                        let _ = cpu
                            .execute(async move {
                                for _ in 0..yields {
                                    tokio::task::yield_now().await;
                                }
                                assert!(!panics, "planned panic");
                            })
                            .await;
                    }
                };
                // Gives up at a random point: waiting for a slot, queued, or running.
                let _ = tokio::time::timeout(give_up, work).await;
            })
        })
        .collect();
    for caller in callers {
        within(caller).await.expect("caller");
    }

    within(cpu.idle()).await;
    let stats = cpu.stats();
    assert_adds_up(&stats);
    assert_eq!(stats.attempts(), 300, "{stats:?}");
    assert!(stats.admitted > 0, "{stats:?}");

    // Every slot can be taken again, and no more.
    let gate = Gate::new();
    let held: Vec<_> = (0..CAPACITY)
        .map(|_| {
            let gate = gate.clone();
            cpu.try_spawn(async move { gate.pass().await })
                .expect("a slot is free")
        })
        .collect();
    assert_eq!(
        cpu.try_spawn(async {}).unwrap_err().reason(),
        RejectReason::Full
    );
    gate.open();
    for handle in held {
        handle.await.expect("ran");
    }
}
