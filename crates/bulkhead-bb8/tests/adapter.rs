//! The compartment over a bb8 pool, with an in-memory manager: admission, backend
//! errors, events, outcomes, cancellation, status.

#[path = "../../bulkhead-pool/tests/shared/checkout.rs"]
#[macro_use]
mod shared;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bulkhead_bb8::{
    Admitted, Bb8Bulkhead, CallError, Compartment, CompartmentInfo, Finished, Observer, Outcome,
    Permit, PoolConfig, PoolError, PoolErrors, RejectReason, Rejected, KIND,
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
    /// Shared with the test, so it can let connections succeed again.
    fail: Arc<AtomicBool>,
    /// Connecting takes this long.
    slow: Mutex<Duration>,
}

#[derive(Debug, PartialEq)]
struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection refused")
    }
}

impl bb8::ManageConnection for Things {
    type Connection = Conn;
    type Error = Refused;

    async fn connect(&self) -> Result<Conn, Refused> {
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

    async fn is_valid(&self, _: &mut Conn) -> Result<(), Refused> {
        Ok(())
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.broken
    }
}

fn manager(fail: bool, slow: Duration) -> Things {
    Things {
        fail: Arc::new(AtomicBool::new(fail)),
        slow: Mutex::new(slow),
        ..Things::default()
    }
}

fn pool(max_size: u32) -> bb8::Pool<Things> {
    bb8::Pool::builder()
        .max_size(max_size)
        .connection_timeout(Duration::from_millis(300))
        .build_unchecked(Things::default())
}

type Bulkhead = Bb8Bulkhead<Things>;

fn compartment(max_size: u32, config: PoolConfig) -> Bulkhead {
    Bb8Bulkhead::new("things", pool(max_size), config).unwrap()
}

const CLOSE_DROPS_CONNECTIONS: bool = false;

checkout_tests!();

#[tokio::test]
async fn a_pool_that_cannot_connect_fails_within_its_timeout_with_the_last_error() {
    let recorder = Arc::new(Recorder::default());
    let errors = PoolErrors::new();
    let fail = Arc::new(AtomicBool::new(true));
    let timeout = Duration::from_millis(300);
    let pool = bb8::Pool::builder()
        .max_size(2)
        .connection_timeout(timeout)
        .error_sink(Box::new(errors.clone()))
        .build_unchecked(Things {
            fail: fail.clone(),
            ..Things::default()
        });
    let things = Bb8Bulkhead::builder("things")
        .observer(recorder.clone())
        .pool_errors(errors)
        .build(pool)
        .unwrap();

    let start = Instant::now();
    let error = things.get().await.unwrap_err();
    let elapsed = start.elapsed();
    assert!(
        elapsed >= timeout && elapsed < timeout * 3,
        "gave up after {elapsed:?}"
    );
    match &error {
        CallError::Backend(PoolError::TimedOut {
            last_error: Some(last),
        }) => assert_eq!(**last, Refused),
        other => panic!("expected a timeout with the last error, got {other:?}"),
    }
    assert_eq!(
        error.to_string(),
        "backend error: no connection within the pool's connection timeout; \
         last error: connection refused"
    );
    let stats = things.stats();
    assert_eq!((stats.admitted, stats.failed, stats.in_use), (1, 1, 0));
    assert_eq!(stats.rejected.total(), 0);
    assert_eq!(things.status().timed_out, 1);
    assert_eq!(recorder.lines(), ["admitted bb8", "finished error long"]);

    // Without the pool's errors the timeout still comes, without a cause.
    let blind = Bb8Bulkhead::new(
        "blind",
        bb8::Pool::builder()
            .connection_timeout(Duration::from_millis(100))
            .build_unchecked(manager(true, Duration::ZERO)),
        PoolConfig::default(),
    )
    .unwrap();
    match blind.get().await {
        Err(CallError::Backend(PoolError::TimedOut { last_error: None })) => {}
        other => panic!("expected a bare timeout, got {other:?}"),
    }

    // The backend recovers: so does the compartment.
    fail.store(false, Ordering::SeqCst);
    let conn = things.get().await.unwrap();
    assert_eq!((conn.id, things.stats().in_use), (1, 1));
}

#[tokio::test]
async fn a_checkout_cancelled_while_the_pool_connects_counts_as_cancelled() {
    let pool = bb8::Pool::builder()
        .max_size(1)
        .build_unchecked(manager(false, Duration::from_millis(200)));
    let things = Bb8Bulkhead::new("things", pool, PoolConfig::default()).unwrap();

    let gave_up = tokio::time::timeout(Duration::from_millis(50), things.get()).await;
    assert!(gave_up.is_err());
    let stats = things.stats();
    assert_eq!((stats.admitted, stats.cancelled, stats.in_use), (1, 1, 0));
    // bb8 finishes opening the connection in the background and keeps it.
    let conn = things.get().await.unwrap();
    assert_eq!(conn.id, 1);
    drop(conn);
    assert_eq!(things.status().size, 1);
}

#[tokio::test]
async fn broken_connections_are_dropped_on_return_and_replaced() {
    let things = compartment(2, PoolConfig::default());

    let mut conn = things.get().await.unwrap();
    conn.broken = true;
    drop(conn);
    let status = things.status();
    assert_eq!((status.size, status.closed_broken), (0, 1));
    let fresh = things.get_owned().await.unwrap();
    assert_eq!(fresh.id, 2);
    drop(fresh);
    let status = things.status();
    assert_eq!((status.size, status.idle, status.created), (1, 1, 2));
    let stats = things.stats();
    assert_eq!((stats.in_use, stats.completed), (0, 2));
}
