//! The compartment over a deadpool pool, with an in-memory manager: admission, backend
//! errors, events, outcomes, cancellation, status.

#[path = "../../bulkhead-pool/tests/shared/checkout.rs"]
#[macro_use]
mod shared;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bulkhead_deadpool::deadpool::managed::{self, Metrics, RecycleResult};
use bulkhead_deadpool::{
    Admitted, CallError, Compartment, CompartmentInfo, DeadpoolBulkhead, Finished, Observer,
    Outcome, Permit, Pool, PoolConfig, PoolError, RejectReason, Rejected, KIND,
};

/// A pooled thing with a number, which a test can break.
#[derive(Debug)]
struct Conn {
    id: usize,
    broken: bool,
}

#[derive(Default)]
struct Things {
    created: AtomicUsize,
    fail: AtomicBool,
    /// Creating takes this long (tokio time).
    slow: Mutex<Duration>,
}

#[derive(Debug, PartialEq)]
struct Refused;

impl managed::Manager for Things {
    type Type = Conn;
    type Error = Refused;

    async fn create(&self) -> Result<Conn, Refused> {
        let slow = *self.slow.lock().unwrap();
        if !slow.is_zero() {
            tokio::time::sleep(slow).await;
        }
        if self.fail.load(Ordering::SeqCst) {
            return Err(Refused);
        }
        let id = self.created.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(Conn { id, broken: false })
    }

    async fn recycle(&self, _: &mut Conn, _: &Metrics) -> RecycleResult<Refused> {
        Ok(())
    }
}

fn pool(max_size: usize) -> Pool<Things> {
    Pool::builder(Things::default())
        .max_size(max_size)
        .build()
        .unwrap()
}

type Bulkhead = DeadpoolBulkhead<Things>;

fn compartment(max_size: usize, config: PoolConfig) -> Bulkhead {
    DeadpoolBulkhead::new("things", pool(max_size), config).unwrap()
}

const CLOSE_DROPS_CONNECTIONS: bool = true;

checkout_tests!();

#[tokio::test]
async fn a_failing_manager_is_a_backend_error_not_a_rejection_and_counts_as_failed() {
    let recorder = Arc::new(Recorder::default());
    let pool = pool(2);
    pool.manager().fail.store(true, Ordering::SeqCst);
    let things = DeadpoolBulkhead::builder("things")
        .observer(recorder.clone())
        .build(pool)
        .unwrap();

    match things.get().await {
        Err(CallError::Backend(PoolError::Backend(Refused))) => {}
        other => panic!("expected the manager's error, got {other:?}"),
    }
    let stats = things.stats();
    assert_eq!((stats.admitted, stats.failed, stats.in_use), (1, 1, 0));
    assert_eq!(stats.rejected.total(), 0);
    assert_eq!(things.status().size, 0);
    assert_eq!(
        recorder.lines(),
        ["admitted deadpool", "finished error short"]
    );

    // The backend recovers: so does the compartment.
    things.pool().manager().fail.store(false, Ordering::SeqCst);
    assert_eq!(things.get().await.unwrap().id, 1);
}

#[tokio::test(start_paused = true)]
async fn a_checkout_cancelled_while_the_pool_creates_counts_as_cancelled() {
    let pool = pool(1);
    *pool.manager().slow.lock().unwrap() = Duration::from_secs(1);
    let things = DeadpoolBulkhead::new("things", pool, PoolConfig::default()).unwrap();

    let gave_up = tokio::time::timeout(Duration::from_millis(100), things.get()).await;
    assert!(gave_up.is_err());
    let stats = things.stats();
    assert_eq!((stats.admitted, stats.cancelled, stats.in_use), (1, 1, 0));
    let status = things.status();
    assert_eq!((status.size, status.waiting), (0, 0), "{status:?}");
    *things.pool().manager().slow.lock().unwrap() = Duration::ZERO;
    assert!(things.try_get().await.is_ok(), "the slot is free again");
}

#[tokio::test]
async fn broken_objects_are_dropped_on_return_and_replaced() {
    let things = DeadpoolBulkhead::builder("things")
        .discard_if(|conn: &Conn| conn.broken)
        .build(pool(2))
        .unwrap();

    let mut conn = things.get().await.unwrap();
    conn.broken = true;
    drop(conn);
    assert_eq!(things.status().size, 0, "the broken object was dropped");
    let fresh = things.get().await.unwrap();
    assert_eq!(fresh.id, 2);
    drop(fresh);

    let detached = things.get().await.unwrap().detach();
    assert_eq!(detached.id, 2);
    let status = things.status();
    assert_eq!((status.size, status.idle), (0, 0));
    let stats = things.stats();
    assert_eq!((stats.in_use, stats.completed), (0, 3));
}

#[tokio::test]
async fn resize_changes_the_pool_and_the_slots_together() {
    let things = compartment(1, PoolConfig::default().max_wait(Duration::ZERO));
    let a = things.get().await.unwrap();
    things.resize(3).unwrap();
    let b = things.get().await.unwrap();
    let c = things.get().await.unwrap();
    assert_eq!(things.stats().target_capacity, 3);
    assert_eq!(things.status().max_size, 3);

    things.resize(1).unwrap();
    assert_eq!(rejection(things.get().await).reason(), RejectReason::Full);
    drop((a, b));
    assert_eq!(rejection(things.get().await).reason(), RejectReason::Full);
    drop(c);
    let only = things.get().await.unwrap();
    assert_eq!(rejection(things.get().await).reason(), RejectReason::Full);
    drop(only);
    let status = things.status();
    assert_eq!((status.max_size, status.size), (1, 1));
    assert_eq!(
        things.resize(0).unwrap_err().to_string(),
        "compartment `things`: `max_size` must be at least 1 (got 0)"
    );
}

#[test]
fn a_closed_or_empty_pool_is_refused_with_the_compartment_named() {
    let closed = pool(2);
    closed.close();
    let error = DeadpoolBulkhead::new("things", closed, PoolConfig::default()).unwrap_err();
    assert_eq!(error.compartment(), Some("things"));
    assert_eq!(
        error.to_string(),
        "compartment `things`: `max_size` must be at least 1 (got 0; a closed pool also reports 0)"
    );
}
