//! The compartment over a deadpool pool, with an in-memory manager: admission, backend
//! errors, events, outcomes, cancellation, status.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bulkhead_deadpool::deadpool::managed::{self, Metrics, RecycleResult};
use bulkhead_deadpool::{
    Admitted, CallError, Compartment, CompartmentInfo, DeadpoolBulkhead, DeadpoolConfig, Finished,
    Observer, Outcome, Permit, Pool, PoolError, RejectReason, Rejected,
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

fn compartment(max_size: usize, config: DeadpoolConfig) -> DeadpoolBulkhead<Things> {
    DeadpoolBulkhead::new("things", pool(max_size), config).unwrap()
}

fn rejection<T: std::fmt::Debug>(result: Result<T, CallError<PoolError<Refused>>>) -> Rejected {
    match result {
        Err(CallError::Rejected(r)) => r,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// Records every event as a line.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Recorder {
    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
    /// The outcomes of the `Finished` events, in order.
    fn outcomes(&self) -> Vec<String> {
        self.lines()
            .iter()
            .filter_map(|l| l.strip_prefix("finished "))
            .map(|l| l.split(' ').next().unwrap_or_default().to_owned())
            .collect()
    }
}

impl Observer for Recorder {
    fn on_admitted(&self, info: &CompartmentInfo, _event: &Admitted) {
        self.0
            .lock()
            .unwrap()
            .push(format!("admitted {}", info.kind()));
    }
    fn on_rejected(&self, _info: &CompartmentInfo, rejection: &Rejected) {
        self.0
            .lock()
            .unwrap()
            .push(format!("rejected {}", rejection.reason().as_str()));
    }
    fn on_finished(&self, _info: &CompartmentInfo, event: &Finished) {
        let held = if event.held >= Duration::from_millis(20) {
            "long"
        } else {
            "short"
        };
        self.0
            .lock()
            .unwrap()
            .push(format!("finished {} {held}", event.outcome));
    }
}

#[tokio::test]
async fn a_free_slot_is_checked_out_at_once_and_the_object_goes_back_on_drop() {
    let things = compartment(2, DeadpoolConfig::default());
    assert_eq!(Compartment::kind(&things), "deadpool");
    assert_eq!(Compartment::name(&things), "things");

    let a = things.get().await.unwrap();
    assert_eq!((a.id, a.compartment()), (1, "things"));
    let stats = things.stats();
    assert_eq!((stats.capacity, stats.in_use, stats.admitted), (2, 1, 1));
    let status = things.status();
    assert_eq!((status.max_size, status.size, status.idle), (2, 1, 0));

    drop(a);
    let again = things.try_get().await.unwrap();
    assert_eq!(again.id, 1, "the same object is handed out again");
    drop(again);
    let stats = things.stats();
    assert_eq!((stats.in_use, stats.admitted, stats.completed), (0, 2, 2));
    assert_eq!((things.status().size, things.status().idle), (1, 1));
}

#[tokio::test]
async fn a_full_compartment_that_may_not_wait_refuses_with_full() {
    let things = compartment(1, DeadpoolConfig::default().max_wait(Duration::ZERO));
    let _held = things.get().await.unwrap();

    let refused = rejection(things.get().await);
    assert_eq!(refused.reason(), RejectReason::Full);
    assert_eq!(refused.compartment(), "things");
    // try_get never waits, whatever max_wait says.
    let waits = compartment(1, DeadpoolConfig::default());
    let _held = waits.get().await.unwrap();
    assert_eq!(
        rejection(waits.try_get().await).reason(),
        RejectReason::Full
    );
    assert_eq!(things.stats().rejected.full, 1);
}

#[tokio::test(start_paused = true)]
async fn a_checkout_that_waits_too_long_times_out_naming_the_compartment() {
    let max_wait = Duration::from_millis(250);
    let things = compartment(1, DeadpoolConfig::default().max_wait(max_wait));
    let _held = things.get().await.unwrap();

    let start = tokio::time::Instant::now();
    let refused = rejection(things.get().await);
    let RejectReason::Timeout { waited } = refused.reason() else {
        panic!("expected a timeout, got {refused:?}");
    };
    assert_eq!(waited, max_wait);
    assert_eq!(start.elapsed(), max_wait);
    assert_eq!(refused.compartment(), "things");
    assert_eq!(
        refused.to_string(),
        "bulkhead `things` rejected the call: timed out after waiting 250ms"
    );
    assert_eq!(things.stats().rejected.timeout, 1);
}

#[tokio::test(start_paused = true)]
async fn a_waiting_checkout_gets_the_object_given_back_and_the_queue_is_bounded() {
    let things = compartment(1, DeadpoolConfig::default().max_waiting(1));
    let held = things.get().await.unwrap();

    let waiter = tokio::spawn({
        let things = things.clone();
        async move { things.get().await.map(|c| c.id) }
    });
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(things.stats().waiting, 1);
    assert_eq!(
        rejection(things.get().await).reason(),
        RejectReason::QueueFull
    );

    drop(held);
    assert_eq!(waiter.await.unwrap().unwrap(), 1);
    let stats = things.stats();
    assert_eq!((stats.waiting, stats.in_use, stats.completed), (0, 0, 2));
    assert_eq!(things.status().size, 1, "no second object was created");
}

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

#[tokio::test]
async fn every_event_is_emitted_once_and_finished_carries_the_hold_time() {
    let recorder = Arc::new(Recorder::default());
    let things = DeadpoolBulkhead::builder("things")
        .max_wait(Duration::ZERO)
        .observer(recorder.clone())
        .build(pool(1))
        .unwrap();

    let held = things.get().await.unwrap();
    let _ = things.get().await.unwrap_err();
    tokio::time::sleep(Duration::from_millis(30)).await;
    drop(held);
    let quick = things.get().await.unwrap();
    drop(quick);

    assert_eq!(
        recorder.lines(),
        [
            "admitted deadpool",
            "rejected full",
            "finished ok long",
            "admitted deadpool",
            "finished ok short"
        ]
    );
}

#[tokio::test]
async fn recorded_outcomes_and_panics_are_counted() {
    let recorder = Arc::new(Recorder::default());
    let things = DeadpoolBulkhead::builder("things")
        .observer(recorder.clone())
        .build(pool(2))
        .unwrap();

    let mut failed = things.get().await.unwrap();
    failed.record(&Err::<(), _>("query failed"));
    drop(failed);
    let mut ok = things.get().await.unwrap();
    ok.record(&Ok::<_, ()>(1));
    drop(ok);
    let mut cancelled = things.get().await.unwrap();
    cancelled.set_outcome(Outcome::Cancelled);
    drop(cancelled);

    let panicking = things.clone();
    let join = tokio::spawn(async move {
        let _conn = panicking.get().await.unwrap();
        panic!("work panicked while holding a connection");
    });
    assert!(join.await.unwrap_err().is_panic());

    let stats = things.stats();
    assert_eq!(
        (
            stats.completed,
            stats.failed,
            stats.cancelled,
            stats.panicked
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(stats.in_use, 0);
    assert_eq!(stats.admitted, stats.finished());
    assert_eq!(recorder.outcomes(), ["error", "ok", "cancelled", "panic"]);
    assert_eq!(
        things.status().idle,
        1,
        "the object came back after the panic"
    );
}

#[tokio::test(start_paused = true)]
async fn a_checkout_cancelled_while_waiting_frees_its_place() {
    let things = compartment(
        1,
        DeadpoolConfig::default()
            .max_wait(Duration::from_secs(10))
            .max_waiting(1),
    );
    let held = things.get().await.unwrap();

    let gave_up = tokio::time::timeout(Duration::from_millis(50), things.get()).await;
    assert!(gave_up.is_err(), "the checkout was still waiting");
    let stats = things.stats();
    assert_eq!((stats.waiting, stats.abandoned), (0, 1));

    // Its place in the queue is free again, and the slot goes to the next waiter.
    let next = tokio::spawn({
        let things = things.clone();
        async move { things.get().await.map(|c| c.id) }
    });
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(things.stats().waiting, 1);
    drop(held);
    assert_eq!(next.await.unwrap().unwrap(), 1);
    let stats = things.stats();
    assert_eq!((stats.in_use, stats.waiting), (0, 0));
    assert_eq!(stats.attempts(), stats.admitted + stats.abandoned);
}

#[tokio::test(start_paused = true)]
async fn a_checkout_cancelled_while_the_pool_creates_counts_as_cancelled() {
    let pool = pool(1);
    *pool.manager().slow.lock().unwrap() = Duration::from_secs(1);
    let things = DeadpoolBulkhead::new("things", pool, DeadpoolConfig::default()).unwrap();

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
    let things = compartment(1, DeadpoolConfig::default().max_wait(Duration::ZERO));
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
        "compartment `things`: `max_size` must be at least 1 (got 0; a closed pool also reports 0)"
    );
}

#[tokio::test(start_paused = true)]
async fn close_refuses_new_and_waiting_checkouts() {
    let things = compartment(
        1,
        DeadpoolConfig::default().max_wait(Duration::from_secs(5)),
    );
    let held = things.get().await.unwrap();
    let waiter = tokio::spawn({
        let things = things.clone();
        async move { things.get().await.map(|c| c.id) }
    });
    tokio::time::sleep(Duration::from_millis(10)).await;

    things.close();
    assert!(Compartment::is_closed(&things));
    match waiter.await.unwrap() {
        Err(CallError::Rejected(r)) => assert_eq!(r.reason(), RejectReason::Closed),
        other => panic!("expected Closed, got {other:?}"),
    }
    assert_eq!(rejection(things.get().await).reason(), RejectReason::Closed);
    drop(held);
    assert_eq!(things.stats().in_use, 0);
    assert_eq!(things.status().size, 0, "the pool dropped the object");
}

#[test]
fn a_closed_or_empty_pool_is_refused_with_the_compartment_named() {
    let closed = pool(2);
    closed.close();
    let error = DeadpoolBulkhead::new("things", closed, DeadpoolConfig::default()).unwrap_err();
    assert_eq!(error.compartment(), Some("things"));
    assert_eq!(error.key(), "max_size");

    let error = DeadpoolBulkhead::new(
        "things",
        pool(2),
        DeadpoolConfig::default().max_wait(Duration::from_secs(7200)),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "compartment `things`: `max_wait` must be at most 3600s (got 7200s)"
    );
}

#[tokio::test]
async fn reconfigure_changes_the_waiting_rules() {
    let things = compartment(1, DeadpoolConfig::default());
    let _held = things.get().await.unwrap();
    things
        .reconfigure(&DeadpoolConfig::default().max_wait(Duration::ZERO))
        .unwrap();
    assert_eq!(things.config().max_wait, Duration::ZERO);
    assert_eq!(rejection(things.get().await).reason(), RejectReason::Full);
}

#[tokio::test]
async fn owned_checkouts_move_into_tasks_and_serve_as_permits() {
    fn mark_failed<P: Permit>(permit: &mut P) {
        permit.set_outcome(Outcome::Error);
    }
    let things = compartment(1, DeadpoolConfig::default().max_wait(Duration::ZERO));
    let mut owned = things.get_owned().await.unwrap();
    mark_failed(&mut owned);
    assert_eq!(
        rejection(things.try_get_owned().await).reason(),
        RejectReason::Full
    );
    let task = tokio::spawn(async move { owned.id });
    assert_eq!(task.await.unwrap(), 1);
    let stats = things.stats();
    assert_eq!((stats.failed, stats.in_use, stats.rejected.full), (1, 0, 1));
    assert_eq!(things.try_get_owned().await.unwrap().id, 1);
}

#[cfg(feature = "serde")]
#[test]
fn the_config_reads_human_durations_and_refuses_unknown_keys() {
    let config: DeadpoolConfig =
        toml::from_str("max_wait = \"250ms\"\nmax_waiting = 8\nretry_after = \"1s\"").unwrap();
    assert_eq!(
        config,
        DeadpoolConfig::default()
            .max_wait(Duration::from_millis(250))
            .max_waiting(8)
            .retry_after(Some(Duration::from_secs(1)))
    );
    let unknown = toml::from_str::<DeadpoolConfig>("max_concurrent = 3").unwrap_err();
    assert!(unknown.to_string().contains("unknown field"), "{unknown}");
    let defaults: DeadpoolConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(defaults, DeadpoolConfig::default());
}
