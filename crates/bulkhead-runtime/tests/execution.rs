//! Running work on a compartment: isolation, panics, blocking work, other executors.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use bulkhead_runtime::{Admission, ExecuteError, RejectReason, RuntimeBulkhead, RuntimeConfig};
use common::{assert_adds_up, compartment, spin_on, within, Gate, Started};
use tokio::sync::oneshot;
use tokio::time::timeout;

const PATIENCE: Duration = Duration::from_secs(10);

fn thread_name() -> Option<String> {
    thread::current().name().map(str::to_owned)
}

fn explode(n: u32) -> u32 {
    if n > 0 {
        panic!("boom {n}");
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compartment_whose_workers_all_spin_does_not_stop_another_compartment_or_the_main_runtime(
) {
    let busy = compartment("spin-busy", 2, 8);
    let other = compartment("spin-other", 1, 8);
    let stop = Arc::new(AtomicBool::new(false));
    let mut started = Started::new();
    let spinners: Vec<_> = (0..2)
        .map(|_| {
            let stop = Arc::clone(&stop);
            let signal = started.signal();
            busy.try_spawn(async move {
                let _ = signal.send(());
                // Never yields: holds its worker until told to stop.
                spin_on("spin-busy", &stop);
                thread_name()
            })
            .expect("admitted")
        })
        .collect();
    started.wait(2).await;

    // Every worker of `busy` is spinning: more work for it is admitted but cannot start.
    let queued = busy.try_spawn(async { thread_name() }).expect("admitted");
    assert_eq!(busy.runtime_stats().global_queue_depth, 1);

    // Meanwhile another compartment and the main runtime get their work done.
    let on_other = timeout(PATIENCE, other.execute(async { thread_name() }))
        .await
        .expect("the other compartment is not starved")
        .expect("ran");
    assert_eq!(on_other.as_deref(), Some("spin-other"));
    let on_main = timeout(PATIENCE, tokio::spawn(async { 6 * 7 }))
        .await
        .expect("the main runtime is not starved")
        .expect("ran");
    assert_eq!(on_main, 42);
    assert!(!queued.is_finished(), "no worker of `busy` was free");

    stop.store(true, Ordering::Release);
    for spinner in spinners {
        assert_eq!(
            within(spinner).await.expect("ran").as_deref(),
            Some("spin-busy")
        );
    }
    assert_eq!(
        within(queued).await.expect("ran").as_deref(),
        Some("spin-busy")
    );
}

#[tokio::test]
async fn async_and_blocking_work_run_on_the_compartment_threads() {
    let cpu = compartment("cpu-threads", 1, 4);
    let caller = thread_name();
    let on_async = cpu.execute(async { thread_name() }).await.expect("ran");
    let on_blocking = cpu.execute_blocking(thread_name).await.expect("ran");
    assert_eq!(on_async.as_deref(), Some("cpu-threads"));
    assert_eq!(on_blocking.as_deref(), Some("cpu-threads"));
    assert_ne!(caller, on_async);
}

#[tokio::test]
async fn a_panic_comes_back_to_its_caller_only_and_the_compartment_keeps_serving() {
    // One worker, so the panic happens on the thread every later task needs.
    let cpu = compartment("panics", 1, 4);
    let gate = Gate::new();
    let mut started = Started::new();
    let bystander = cpu
        .try_spawn({
            let gate = gate.clone();
            let signal = started.signal();
            async move {
                let _ = signal.send(());
                gate.pass().await;
                "bystander done"
            }
        })
        .expect("admitted");
    started.wait(1).await;

    let err = cpu.execute(async { explode(7) }).await.unwrap_err();
    assert_eq!(
        err,
        ExecuteError::Panicked {
            message: "boom 7".into()
        }
    );
    assert_eq!(err.to_string(), "task panicked: boom 7");

    assert_eq!(cpu.execute(async { explode(0) }).await, Ok(0));
    gate.open();
    assert_eq!(bystander.await, Ok("bystander done"));

    let stats = cpu.stats();
    assert_eq!((stats.panicked, stats.completed), (1, 2));
    assert_adds_up(&stats);
}

#[tokio::test]
async fn a_panicking_blocking_closure_comes_back_as_panicked() {
    let cpu = compartment("blocking-panic", 1, 4);
    let err = cpu.execute_blocking(|| explode(3)).await.unwrap_err();
    assert_eq!(err.panic_message(), Some("boom 3"));
    assert_eq!(cpu.execute_blocking(|| explode(0)).await, Ok(0));
    let stats = cpu.stats();
    assert_eq!((stats.panicked, stats.completed), (1, 1));
    assert_adds_up(&stats);
}

#[tokio::test]
async fn a_panic_with_a_non_string_payload_still_comes_back() {
    let cpu = compartment("odd-panic", 1, 4);
    let err = cpu
        .execute(async { std::panic::panic_any(17_u8) })
        .await
        .unwrap_err();
    assert_eq!(err.panic_message(), Some("panic payload is not a string"));
}

#[test]
fn execute_can_be_awaited_from_an_executor_other_than_tokio() {
    let cpu = compartment("foreign", 1, 4);
    let answer = futures::executor::block_on(cpu.execute(async {
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
        42
    }));
    assert_eq!(answer, Ok(42));
    drop(cpu);
}

#[tokio::test]
async fn execute_result_keeps_the_work_error_apart_and_counts_it_as_failed() {
    let cpu = compartment("fallible", 1, 4);
    let err = cpu
        .execute_result(async { Err::<u8, _>("disk full") })
        .await
        .unwrap_err();
    assert_eq!(err, ExecuteError::Backend("disk full"));
    assert_eq!(err.to_string(), "backend error: disk full");
    assert_eq!(cpu.execute_result(async { Ok::<_, &str>(5) }).await, Ok(5));
    let stats = cpu.stats();
    assert_eq!((stats.failed, stats.completed), (1, 1));
    assert_adds_up(&stats);
}

#[tokio::test]
async fn a_detached_task_runs_to_completion_and_holds_its_slot_until_then() {
    let cpu = compartment("detached", 1, 1);
    let gate = Gate::new();
    let (tx, rx) = oneshot::channel();
    cpu.try_spawn({
        let gate = gate.clone();
        async move {
            gate.pass().await;
            let _ = tx.send(42);
        }
    })
    .expect("admitted")
    .detach();

    let refused = cpu.try_spawn(async {}).unwrap_err();
    assert_eq!(refused.reason(), RejectReason::Full);
    gate.open();
    assert_eq!(within(rx).await, Ok(42));
    within(cpu.idle()).await;
    let stats = cpu.stats();
    assert_eq!((stats.completed, stats.rejected.full), (1, 1));
    assert_adds_up(&stats);
}

#[tokio::test]
async fn work_starts_in_a_slot_taken_through_admission() {
    let cpu = compartment("admitted", 1, 1);
    let permit = cpu.try_admit().expect("a free slot");
    assert_eq!(permit.compartment(), "admitted");
    assert_eq!(cpu.stats().in_use, 1);
    assert_eq!(cpu.try_admit().unwrap_err().reason(), RejectReason::Full);
    let handle = cpu.spawn_admitted(permit, async { 7 });
    assert_eq!(handle.await, Ok(7));
    let permit = cpu.admit().await.expect("a free slot again");
    drop(permit);
    let stats = cpu.stats();
    assert_eq!(stats.admitted, 2);
    assert_adds_up(&stats);
}

#[tokio::test]
async fn sockets_need_enable_io_and_without_it_the_task_panics_alone() {
    let bind = || async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        listener.local_addr().map(|addr| addr.ip().is_loopback())
    };
    let plain = compartment("no-io", 1, 2);
    let err = plain.execute(bind()).await.unwrap_err();
    let message = err.panic_message().expect("a panic");
    assert!(message.contains("IO is disabled"), "{message}");
    assert_eq!(plain.execute(async { 1 }).await, Ok(1));

    let with_io = RuntimeBulkhead::new(
        "with-io",
        RuntimeConfig::default().worker_threads(1).enable_io(true),
    )
    .expect("valid config");
    let bound = with_io.execute(bind()).await.expect("ran");
    assert!(bound.expect("bound a loopback socket"));
}
