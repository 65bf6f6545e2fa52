//! Admission: limits, waiting, timeouts, FIFO order, queue bound, close.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bulkhead_semaphore::{RejectReason, SemaphoreBulkhead, SemaphoreConfig};
use common::{assert_quiet_and_consistent, InFlight};
use tokio::sync::{oneshot, Barrier, Notify};

fn bulkhead(name: &str, config: SemaphoreConfig) -> SemaphoreBulkhead {
    SemaphoreBulkhead::new(name, config).expect("valid config")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_is_never_exceeded_with_ten_thousand_concurrent_callers() {
    const CALLERS: usize = 10_000;
    const LIMIT: usize = 16;
    let b = bulkhead(
        "limit",
        SemaphoreConfig::new(LIMIT)
            .max_wait(Duration::from_secs(60))
            .max_waiting(CALLERS),
    );
    let in_flight = Arc::new(InFlight::default());
    let start = Arc::new(Barrier::new(CALLERS));
    let tasks: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (b, in_flight, start) = (b.clone(), in_flight.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                b.execute(async {
                    let _inside = in_flight.enter();
                    tokio::task::yield_now().await;
                    tokio::task::yield_now().await;
                })
                .await
            })
        })
        .collect();
    for t in tasks {
        t.await
            .unwrap()
            .expect("every caller is admitted within the wait");
    }
    assert!(
        in_flight.max() <= LIMIT,
        "{} calls ran at once with a limit of {LIMIT}",
        in_flight.max()
    );
    assert_eq!(
        in_flight.max(),
        LIMIT,
        "10,000 callers should saturate the compartment"
    );
    let stats = b.stats();
    assert_eq!(stats.admitted, CALLERS as u64);
    assert_eq!(stats.completed, CALLERS as u64);
    assert_eq!(b.available_permits(), LIMIT);
    assert_quiet_and_consistent(&stats, CALLERS as u64);
}

#[tokio::test]
async fn try_acquire_fails_fast_with_full_when_no_slot_is_free() {
    let b = bulkhead(
        "fast",
        SemaphoreConfig::new(2).max_wait(Duration::from_secs(5)),
    );
    let _one = b.try_acquire().unwrap();
    let _two = b.try_acquire().unwrap();
    let err = b.try_acquire().unwrap_err();
    assert_eq!(err.reason(), RejectReason::Full);
    assert_eq!(err.compartment(), "fast");
    assert_eq!(err.waited(), Duration::ZERO);
    assert_eq!(b.stats().rejected.full, 1);
}

#[tokio::test]
async fn acquire_without_a_wait_budget_fails_fast_with_full() {
    let b = bulkhead("nowait", SemaphoreConfig::new(1));
    let _held = b.acquire().await.unwrap();
    let err = b.acquire().await.unwrap_err();
    assert_eq!(err.reason(), RejectReason::Full);
    assert_eq!(b.stats().waiting, 0);
}

#[tokio::test(start_paused = true)]
async fn a_waiting_caller_times_out_after_exactly_max_wait() {
    let b = bulkhead(
        "slow",
        SemaphoreConfig::new(1).max_wait(Duration::from_millis(250)),
    );
    let _held = b.acquire().await.unwrap();
    let before = tokio::time::Instant::now();
    let err = b.acquire().await.unwrap_err();
    assert_eq!(
        err.reason(),
        RejectReason::Timeout {
            waited: Duration::from_millis(250)
        }
    );
    assert_eq!(err.waited(), Duration::from_millis(250));
    assert_eq!(before.elapsed(), Duration::from_millis(250));
    assert_eq!(
        err.to_string(),
        "bulkhead `slow` rejected the call: timed out after waiting 250ms"
    );
    let stats = b.stats();
    assert_eq!((stats.rejected.timeout, stats.waiting), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn a_waiting_caller_is_admitted_when_a_slot_frees_before_the_deadline() {
    let b = bulkhead(
        "handoff",
        SemaphoreConfig::new(1).max_wait(Duration::from_secs(1)),
    );
    let held = b.acquire_owned().await.unwrap();
    let waiter = tokio::spawn({
        let b = b.clone();
        async move { b.execute(async { "admitted" }).await }
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(b.stats().waiting, 1);
    drop(held);
    assert_eq!(waiter.await.unwrap().unwrap(), "admitted");
    assert_quiet_and_consistent(&b.stats(), 2);
}

#[tokio::test(start_paused = true)]
async fn the_wait_queue_is_bounded_and_overflow_is_rejected_with_queue_full() {
    let b = bulkhead(
        "queue",
        SemaphoreConfig::new(1)
            .max_wait(Duration::from_secs(10))
            .max_waiting(2),
    );
    let held = b.acquire_owned().await.unwrap();
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            let b = b.clone();
            tokio::spawn(async move { b.execute(async {}).await })
        })
        .collect();
    while b.stats().waiting < 2 {
        tokio::task::yield_now().await;
    }
    let err = b.acquire().await.unwrap_err();
    assert_eq!(err.reason(), RejectReason::QueueFull);
    assert_eq!(b.stats().max_waiting, 2);
    drop(held);
    for w in waiters {
        w.await.unwrap().unwrap();
    }
    let stats = b.stats();
    assert_eq!(stats.rejected.queue_full, 1);
    assert_quiet_and_consistent(&stats, 4);
}

#[tokio::test]
async fn waiting_callers_are_admitted_in_fifo_order() {
    let b = bulkhead(
        "fifo",
        SemaphoreConfig::new(1).max_wait(Duration::from_secs(30)),
    );
    let held = b.acquire_owned().await.unwrap();
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (caller, order) = (b.clone(), order.clone());
        tasks.push(tokio::spawn(async move {
            caller
                .execute(async move { order.lock().unwrap().push(i) })
                .await
                .unwrap()
        }));
        // Let each waiter join the queue before the next one.
        while b.stats().waiting < i + 1 {
            tokio::task::yield_now().await;
        }
    }
    drop(held);
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(*order.lock().unwrap(), (0..20).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn close_rejects_waiting_and_new_callers_while_admitted_calls_finish() {
    let b = bulkhead(
        "closing",
        SemaphoreConfig::new(1).max_wait(Duration::from_secs(60)),
    );
    let release = Arc::new(Notify::new());
    let (admitted_tx, admitted_rx) = oneshot::channel();
    let running = tokio::spawn({
        let (b, release) = (b.clone(), release.clone());
        async move {
            b.execute(async move {
                admitted_tx.send(()).unwrap();
                release.notified().await;
                "finished"
            })
            .await
        }
    });
    admitted_rx.await.unwrap();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let b = b.clone();
            tokio::spawn(async move { b.execute(async {}).await })
        })
        .collect();
    while b.stats().waiting < 3 {
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
    b.close();
    for w in waiters {
        let err = w.await.unwrap().unwrap_err();
        assert_eq!(err.reason(), RejectReason::Closed);
        assert_eq!(err.waited(), Duration::from_millis(5));
        assert_eq!(err.retry_after(), None);
    }
    assert_eq!(b.try_acquire().unwrap_err().reason(), RejectReason::Closed);
    assert!(b.is_closed());
    release.notify_one();
    assert_eq!(running.await.unwrap().unwrap(), "finished");
    let stats = b.stats();
    assert!(stats.closed);
    assert_eq!(stats.rejected.closed, 4);
    assert_quiet_and_consistent(&stats, 5);
}

#[tokio::test]
async fn rejections_carry_the_configured_retry_hint() {
    let b = bulkhead(
        "hinted",
        SemaphoreConfig::new(1).retry_after(Some(Duration::from_secs(2))),
    );
    let _held = b.try_acquire().unwrap();
    let err = b.try_acquire().unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
}

#[tokio::test]
async fn clones_share_one_compartment() {
    let a = bulkhead("shared", SemaphoreConfig::new(1));
    let b = a.clone();
    let _held = a.try_acquire().unwrap();
    assert_eq!(b.try_acquire().unwrap_err().reason(), RejectReason::Full);
    assert_eq!(b.stats().in_use, 1);
}

#[tokio::test]
async fn execute_result_keeps_backend_errors_beside_rejections() {
    let b = bulkhead("backend", SemaphoreConfig::new(1));
    let err = b
        .execute_result(async { Err::<(), _>("connection reset") })
        .await
        .unwrap_err();
    assert_eq!(err.backend(), Some(&"connection reset"));
    assert!(err.rejected().is_none());
    let _held = b.try_acquire().unwrap();
    let err = b
        .execute_result(async { Ok::<_, &str>(()) })
        .await
        .unwrap_err();
    assert_eq!(err.rejected().unwrap().reason(), RejectReason::Full);
    let stats = b.stats();
    assert_eq!((stats.failed, stats.rejected.full), (1, 1));
}

#[tokio::test]
async fn try_execute_never_waits_even_with_a_wait_budget() {
    let b = bulkhead(
        "try",
        SemaphoreConfig::new(1).max_wait(Duration::from_secs(60)),
    );
    assert_eq!(b.try_execute(async { 7 }).await.unwrap(), 7);
    let _held = b.try_acquire().unwrap();
    let err = b.try_execute(async { 7 }).await.unwrap_err();
    assert_eq!(err.reason(), RejectReason::Full);
    assert_eq!(b.stats().waiting, 0);
}

#[tokio::test]
async fn a_compartment_built_as_another_kind_reports_that_kind() {
    use bulkhead_semaphore::Compartment;
    let b = SemaphoreBulkhead::builder("cpu")
        .kind("runtime")
        .build()
        .unwrap();
    assert_eq!((b.name(), Compartment::kind(&b)), ("cpu", "runtime"));
    let plain = bulkhead("io", SemaphoreConfig::new(1));
    assert_eq!(Compartment::kind(&plain), "semaphore");
}
