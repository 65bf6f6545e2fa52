//! Building, dropping, closing and shutting down compartments.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bulkhead_runtime::{ExecuteError, RejectReason, RuntimeBulkhead, RuntimeConfig, MIN_STOP_WAIT};
use common::{assert_adds_up, compartment, spin_on, within, Gate, OnDrop, Started};
use futures::poll;
use tokio::sync::{mpsc, oneshot};

#[cfg(target_os = "linux")]
use common::{threads_named, wait_for_threads};

const PATIENCE: Duration = Duration::from_secs(5);

#[tokio::test]
async fn building_and_dropping_a_compartment_inside_async_code_does_not_panic() {
    let cpu = compartment("in-async", 2, 4);
    assert_eq!(cpu.execute(async { 1 }).await, Ok(1));
    drop(cpu);
    // And again with work still in flight when the last handle goes.
    let cpu = compartment("in-async", 2, 4);
    let busy = cpu
        .try_spawn(std::future::pending::<()>())
        .expect("admitted");
    drop(cpu);
    assert_eq!(within(busy).await, Err(ExecuteError::ShutDown));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn building_and_dropping_a_compartment_on_a_multi_thread_runtime_does_not_panic() {
    for _ in 0..3 {
        let cpu = compartment("in-async-mt", 1, 4);
        assert_eq!(cpu.execute_blocking(|| 2).await, Ok(2));
        drop(cpu);
    }
}

#[tokio::test]
async fn dropping_the_last_handle_on_the_compartments_own_thread_does_not_panic() {
    let cpu = compartment("own-thread", 1, 4);
    let gate = Gate::new();
    let (done_tx, done) = oneshot::channel();
    let last = cpu.clone();
    cpu.try_spawn({
        let gate = gate.clone();
        async move {
            gate.pass().await;
            // The caller's handle is gone by now: this drops the last one.
            drop(last);
            let _ = done_tx.send(());
        }
    })
    .expect("admitted")
    .detach();
    drop(cpu);
    gate.open();
    assert_eq!(
        within(done).await,
        Ok(()),
        "the task finished without panicking"
    );
}

#[tokio::test]
async fn dropping_the_last_handle_stops_running_tasks_and_their_callers_get_shut_down() {
    let cpu = compartment("drop-stops", 1, 4);
    let mut started = Started::new();
    let (dropped_tx, mut dropped) = mpsc::unbounded_channel();
    let signal = started.signal();
    let handle = cpu
        .try_spawn(async move {
            let _guard = OnDrop(Some(dropped_tx));
            let _ = signal.send(());
            std::future::pending::<()>().await;
        })
        .expect("admitted");
    started.wait(1).await;
    drop(cpu);
    assert_eq!(within(handle).await, Err(ExecuteError::ShutDown));
    within(dropped.recv())
        .await
        .expect("the task's future was dropped");
    #[cfg(target_os = "linux")]
    assert_eq!(wait_for_threads("drop-stops", 0, PATIENCE), 0);
}

#[tokio::test]
#[cfg(target_os = "linux")]
async fn shutdown_drains_in_flight_work_then_every_thread_is_gone() {
    let cpu = RuntimeBulkhead::new(
        "rt-drain",
        RuntimeConfig::default()
            .worker_threads(2)
            .max_blocking_threads(2)
            .queue_capacity(8),
    )
    .expect("valid config");
    let gate = Gate::new();
    let mut started = Started::new();
    let tasks: Vec<_> = (0..2)
        .map(|i| {
            let gate = gate.clone();
            let signal = started.signal();
            cpu.try_spawn(async move {
                let _ = signal.send(());
                gate.pass().await;
                i
            })
            .expect("admitted")
        })
        .collect();
    let (release_blocking, blocked) = std::sync::mpsc::channel::<()>();
    let signal = started.signal();
    let blocking = cpu
        .spawn_blocking(move || {
            let _ = signal.send(());
            blocked.recv().expect("released");
            "blocking done"
        })
        .await
        .expect("admitted");
    started.wait(3).await;
    // Two workers and one blocking thread at least.
    assert!(threads_named("rt-drain") >= 3);

    let mut shutdown = Box::pin(cpu.shutdown(PATIENCE));
    assert!(poll!(&mut shutdown).is_pending());
    // Draining: new work is refused, admitted work goes on.
    let refused = cpu.execute(async {}).await.unwrap_err();
    assert_eq!(
        refused.rejected().map(|r| r.reason()),
        Some(RejectReason::Closed)
    );
    gate.open();
    release_blocking.send(()).expect("the closure waits");

    let report = within(shutdown).await;
    assert!(report.drained, "{report:?}");
    assert_eq!(
        (report.unfinished, report.threads_left),
        (0, 0),
        "{report:?}"
    );
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await, Ok(i));
    }
    assert_eq!(blocking.await, Ok("blocking done"));
    assert_eq!(wait_for_threads("rt-drain", 0, PATIENCE), 0);
    let stats = cpu.stats();
    assert_eq!((stats.completed, stats.rejected.closed), (3, 1));
    assert_adds_up(&stats);
}

#[tokio::test]
async fn shutdown_drops_tasks_that_outlive_the_deadline_and_returns() {
    let cpu = compartment("rt-ignore", 1, 4);
    let mut started = Started::new();
    let (dropped_tx, mut dropped) = mpsc::unbounded_channel();
    let signal = started.signal();
    let stubborn = cpu
        .try_spawn(async move {
            let _guard = OnDrop(Some(dropped_tx));
            let _ = signal.send(());
            // Ignores the shutdown: waits for something that never comes.
            std::future::pending::<()>().await;
        })
        .expect("admitted");
    started.wait(1).await;

    let deadline = Duration::from_millis(50);
    let report = cpu.shutdown(deadline).await;
    assert!(!report.drained, "{report:?}");
    assert_eq!(
        (report.unfinished, report.threads_left),
        (1, 0),
        "{report:?}"
    );
    assert!(report.elapsed >= deadline, "{report:?}");
    assert!(report.elapsed < deadline + PATIENCE, "{report:?}");

    within(dropped.recv())
        .await
        .expect("the task's future was dropped");
    assert_eq!(within(stubborn).await, Err(ExecuteError::ShutDown));
    let stats = cpu.stats();
    assert_eq!(stats.cancelled, 1);
    assert_adds_up(&stats);
    #[cfg(target_os = "linux")]
    assert_eq!(wait_for_threads("rt-ignore", 0, PATIENCE), 0);
}

#[tokio::test]
async fn shutdown_reports_a_worker_stuck_in_a_task_that_never_yields() {
    let cpu = compartment("rt-stuck", 1, 4);
    let stop = Arc::new(AtomicBool::new(false));
    let mut started = Started::new();
    let signal = started.signal();
    cpu.try_spawn({
        let stop = Arc::clone(&stop);
        async move {
            let _ = signal.send(());
            spin_on("rt-stuck", &stop);
        }
    })
    .expect("admitted")
    .detach();
    started.wait(1).await;

    let deadline = Duration::from_millis(50);
    let report = cpu.shutdown(deadline).await;
    assert!(!report.drained, "{report:?}");
    assert_eq!(
        (report.unfinished, report.threads_left),
        (1, 1),
        "{report:?}"
    );
    assert!(report.elapsed >= deadline + MIN_STOP_WAIT, "{report:?}");
    assert!(report.elapsed < deadline + PATIENCE, "{report:?}");

    // The thread ends with its task.
    stop.store(true, Ordering::Release);
    #[cfg(target_os = "linux")]
    assert_eq!(wait_for_threads("rt-stuck", 0, PATIENCE), 0);
}

#[tokio::test]
async fn a_second_shutdown_reports_again_without_stopping_twice() {
    let cpu = compartment("twice", 1, 4);
    assert_eq!(cpu.execute(async { 1 }).await, Ok(1));
    let first = cpu.shutdown(PATIENCE).await;
    let second = cpu.shutdown(PATIENCE).await;
    for report in [first, second] {
        assert!(report.drained, "{report:?}");
        assert_eq!(report.threads_left, 0, "{report:?}");
    }
    assert!(second.elapsed < PATIENCE, "{second:?}");
}

#[test]
fn shutdown_can_be_awaited_outside_any_runtime() {
    let cpu = compartment("no-runtime", 1, 4);
    assert_eq!(futures::executor::block_on(cpu.execute(async { 3 })), Ok(3));
    let report = futures::executor::block_on(cpu.shutdown(PATIENCE));
    assert!(report.drained, "{report:?}");
    assert_eq!(report.threads_left, 0, "{report:?}");
}

#[tokio::test]
async fn dropping_the_shutdown_future_does_not_stop_the_shutdown() {
    let cpu = compartment("rt-abandon", 1, 4);
    let gate = Gate::new();
    let task = cpu
        .try_spawn({
            let gate = gate.clone();
            async move { gate.pass().await }
        })
        .expect("admitted");
    let mut shutdown = Box::pin(cpu.shutdown(PATIENCE));
    assert!(poll!(&mut shutdown).is_pending());
    drop(shutdown);
    gate.open();
    assert_eq!(within(task).await, Ok(()));
    #[cfg(target_os = "linux")]
    assert_eq!(wait_for_threads("rt-abandon", 0, PATIENCE), 0);
    assert!(cpu.is_closed());
}
