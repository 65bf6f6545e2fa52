//! Live resize: growing at once, shrinking without blocking or cancelling.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bulkhead_semaphore::{RejectReason, SemaphoreBulkhead, SemaphoreConfig};
use common::{assert_quiet_and_consistent, InFlight};
use tokio::sync::{Barrier, Notify};

#[tokio::test]
async fn growing_takes_effect_at_once_and_wakes_waiters() {
    let b = SemaphoreBulkhead::new(
        "grow",
        SemaphoreConfig::new(1).max_wait(Duration::from_secs(60)),
    )
    .unwrap();
    let _held = b.acquire_owned().await.unwrap();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let b = b.clone();
            tokio::spawn(async move { b.acquire_owned().await })
        })
        .collect();
    while b.stats().waiting < 3 {
        tokio::task::yield_now().await;
    }
    b.resize(4).unwrap();
    let permits: Vec<_> = futures::future::join_all(waiters)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    let stats = b.stats();
    assert_eq!(
        (stats.capacity, stats.target_capacity, stats.in_use),
        (4, 4, 4)
    );
    drop(permits);
}

#[tokio::test]
async fn shrinking_never_blocks_never_cancels_and_converges_as_permits_come_back() {
    let b = SemaphoreBulkhead::new("shrink", SemaphoreConfig::new(4)).unwrap();
    let mut held: Vec<_> = (0..4).map(|_| b.try_acquire().unwrap()).collect();
    b.resize(2).unwrap(); // returns at once although every slot is busy
    let stats = b.stats();
    assert_eq!(
        (stats.capacity, stats.target_capacity, stats.in_use),
        (4, 2, 4)
    );
    held.pop();
    assert_eq!(b.stats().capacity, 3);
    assert_eq!(
        b.available_permits(),
        0,
        "a returned slot is retired while over the target"
    );
    held.pop();
    assert_eq!(b.stats().capacity, 2);
    assert_eq!(b.try_acquire().unwrap_err().reason(), RejectReason::Full);
    held.pop();
    assert_eq!(b.available_permits(), 1);
    held.pop();
    assert_eq!(b.available_permits(), 2);
    let stats = b.stats();
    assert_eq!((stats.capacity, stats.target_capacity), (2, 2));
    assert_eq!(stats.completed, 4, "in-flight calls finished normally");
    assert_quiet_and_consistent(&stats, 5);
}

#[tokio::test]
async fn shrinking_with_free_slots_removes_them_at_once() {
    let b = SemaphoreBulkhead::new("free", SemaphoreConfig::new(10)).unwrap();
    let _held = b.try_acquire().unwrap();
    b.resize(3).unwrap();
    let stats = b.stats();
    assert_eq!((stats.capacity, stats.target_capacity), (3, 3));
    assert_eq!(b.available_permits(), 2);
}

#[tokio::test]
async fn a_shrink_cancelled_by_a_grow_keeps_busy_slots() {
    let b = SemaphoreBulkhead::new("flip", SemaphoreConfig::new(4)).unwrap();
    let held: Vec<_> = (0..4).map(|_| b.try_acquire().unwrap()).collect();
    b.resize(1).unwrap();
    b.resize(6).unwrap();
    let stats = b.stats();
    assert_eq!((stats.capacity, stats.target_capacity), (6, 6));
    assert_eq!(b.available_permits(), 2);
    drop(held);
    assert_eq!(b.available_permits(), 6);
}

#[tokio::test]
async fn invalid_sizes_are_refused_and_change_nothing() {
    let b = SemaphoreBulkhead::new("sizes", SemaphoreConfig::new(4)).unwrap();
    let err = b.resize(0).unwrap_err();
    assert_eq!(err.key(), "max_concurrent");
    assert_eq!(err.compartment(), Some("sizes"));
    assert_eq!(
        err.to_string(),
        "compartment `sizes`: `max_concurrent` must be at least 1 (got 0)"
    );
    assert!(b.resize(usize::MAX).is_err());
    assert_eq!(b.stats().target_capacity, 4);
    let bad = SemaphoreConfig::new(0).max_wait(Duration::from_secs(7200));
    assert!(b.reconfigure(&bad).is_err());
    assert_eq!(b.config(), SemaphoreConfig::new(4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resizing_up_and_down_under_load_keeps_the_limit_and_drops_no_call() {
    const CALLERS: usize = 4_000;
    let b = SemaphoreBulkhead::new(
        "under-load",
        SemaphoreConfig::new(8)
            .max_wait(Duration::from_secs(60))
            .max_waiting(CALLERS),
    )
    .unwrap();
    let in_flight = Arc::new(InFlight::default());
    let start = Arc::new(Barrier::new(CALLERS + 1));
    let tasks: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (b, in_flight, start) = (b.clone(), in_flight.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                b.execute(async {
                    let _inside = in_flight.enter();
                    tokio::task::yield_now().await;
                })
                .await
            })
        })
        .collect();
    start.wait().await;
    for size in [2, 12, 1, 16, 4, 8, 3] {
        b.resize(size).unwrap();
        tokio::task::yield_now().await;
    }
    let mut admitted = 0;
    for t in tasks {
        t.await.unwrap().expect("no caller is dropped by a resize");
        admitted += 1;
    }
    assert_eq!(admitted, CALLERS);
    assert!(
        in_flight.max() <= 16,
        "{} calls at once exceeds every target",
        in_flight.max()
    );
    let stats = b.stats();
    assert_eq!((stats.capacity, stats.target_capacity), (3, 3));
    assert_eq!(b.available_permits(), 3);
    assert_quiet_and_consistent(&stats, CALLERS as u64);

    // Once converged the new limit holds exactly.
    in_flight.reset_max();
    let gate = Arc::new(Notify::new());
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (b, in_flight, gate) = (b.clone(), in_flight.clone(), gate.clone());
            tokio::spawn(async move {
                b.execute(async {
                    let _inside = in_flight.enter();
                    tokio::task::yield_now().await;
                    let _ = &gate;
                })
                .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert!(in_flight.max() <= 3, "{} > 3", in_flight.max());
}
