//! Behaviour of `BulkheadLayer` with a semaphore compartment.

use std::convert::Infallible;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bulkhead_semaphore::{SemaphoreBulkhead, SemaphoreConfig};
use bulkhead_tower::{is_rejection, Bulkhead, BulkheadLayer, CallError, RejectReason};
use futures::future::BoxFuture;
use futures::poll;
use tokio::sync::{oneshot, Semaphore};
use tower::{service_fn, Layer, Service, ServiceExt};

fn compartment(config: SemaphoreConfig) -> SemaphoreBulkhead {
    SemaphoreBulkhead::new("test", config).expect("valid config")
}

/// An inner service that counts its calls and answers `Ok(request)`.
fn counting(
    calls: Arc<AtomicUsize>,
) -> impl Service<u32, Response = u32, Error = Infallible, Future: Send> + Clone {
    service_fn(move |n: u32| {
        calls.fetch_add(1, SeqCst);
        async move { Ok::<_, Infallible>(n) }
    })
}

/// Waits until `check` holds, yielding to the runtime; fails the test after 10 s.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while !check() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting until {what}"));
}

/// A service that records how many calls run at once, each waiting at `gate`.
#[derive(Clone)]
struct Gated {
    gate: Arc<Semaphore>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
}

impl Gated {
    fn new() -> Self {
        Gated {
            gate: Arc::new(Semaphore::new(0)),
            in_flight: Arc::default(),
            max_in_flight: Arc::default(),
        }
    }
}

impl Service<u32> for Gated {
    type Response = u32;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<u32, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, n: u32) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let now = this.in_flight.fetch_add(1, SeqCst) + 1;
            this.max_in_flight.fetch_max(now, SeqCst);
            this.gate.acquire().await.expect("gate open").forget();
            this.in_flight.fetch_sub(1, SeqCst);
            Ok(n)
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_through_the_layer_never_exceed_the_limit() {
    let bulkhead = compartment(
        SemaphoreConfig::new(8)
            .max_wait(Duration::from_secs(60))
            .max_waiting(1024),
    );
    let inner = Gated::new();
    let service = BulkheadLayer::new(bulkhead.clone()).layer(inner.clone());

    let requests: Vec<_> = (0..200)
        .map(|n| tokio::spawn(service.clone().oneshot(n)))
        .collect();

    eventually("8 calls run and 192 wait", || {
        let stats = bulkhead.stats();
        stats.in_use == 8 && stats.waiting == 192
    })
    .await;
    eventually("8 calls reach the inner service", || {
        inner.in_flight.load(SeqCst) == 8
    })
    .await;

    inner.gate.add_permits(200);
    for (n, request) in requests.into_iter().enumerate() {
        assert_eq!(request.await.unwrap().unwrap(), n as u32);
    }
    assert_eq!(inner.max_in_flight.load(SeqCst), 8);
    let stats = bulkhead.stats();
    assert_eq!(
        (stats.admitted, stats.completed, stats.in_use),
        (200, 200, 0)
    );
    assert_eq!(stats.rejected.total(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_compartment_that_does_not_wait_admits_exactly_its_limit() {
    let bulkhead = compartment(SemaphoreConfig::new(8));
    let inner = Gated::new();
    let service = BulkheadLayer::new(bulkhead.clone()).layer(inner.clone());

    let requests: Vec<_> = (0..200)
        .map(|n| tokio::spawn(service.clone().oneshot(n)))
        .collect();
    eventually("every request is decided", || {
        let stats = bulkhead.stats();
        stats.admitted + stats.rejected.total() == 200
    })
    .await;
    inner.gate.add_permits(200);

    let mut ok = 0;
    for request in requests {
        match request.await.unwrap() {
            Ok(_) => ok += 1,
            Err(CallError::Rejected(r)) => assert_eq!(r.reason(), RejectReason::Full),
            Err(CallError::Backend(e)) => match e {},
        }
    }
    assert_eq!(ok, 8);
    assert_eq!(inner.max_in_flight.load(SeqCst), 8);
    let stats = bulkhead.stats();
    assert_eq!((stats.admitted, stats.rejected.full), (8, 192));
}

#[tokio::test]
async fn the_permit_is_held_until_the_response_future_completes() {
    let bulkhead = compartment(SemaphoreConfig::new(2));
    let (release, released) = oneshot::channel::<()>();
    let released = Arc::new(std::sync::Mutex::new(Some(released)));
    let mut service = BulkheadLayer::new(bulkhead.clone()).layer(service_fn(move |n: u32| {
        let released = released.lock().unwrap().take().expect("called once");
        async move {
            released.await.expect("released");
            Ok::<_, Infallible>(n)
        }
    }));

    let future = service.ready().await.unwrap().call(7);
    tokio::pin!(future);
    assert_eq!(bulkhead.stats().in_use, 1, "the slot is taken in call");
    assert!(poll!(future.as_mut()).is_pending());
    assert!(poll!(future.as_mut()).is_pending());
    assert_eq!(
        bulkhead.stats().in_use,
        1,
        "the slot is held while the inner future runs"
    );

    release.send(()).unwrap();
    assert!(matches!(poll!(future.as_mut()), Poll::Ready(Ok(7))));
    // The response future still exists, but the slot went back with the response.
    let stats = bulkhead.stats();
    assert_eq!((stats.in_use, stats.completed), (0, 1));
}

#[tokio::test]
async fn a_dropped_response_future_releases_its_slot_and_counts_as_cancelled() {
    let bulkhead = compartment(SemaphoreConfig::new(1));
    let mut service = BulkheadLayer::new(bulkhead.clone()).layer(service_fn(|_: u32| {
        futures::future::pending::<Result<u32, Infallible>>()
    }));

    let mut future = Box::pin(service.ready().await.unwrap().call(1));
    assert!(poll!(future.as_mut()).is_pending());
    assert_eq!(bulkhead.stats().in_use, 1);
    drop(future);

    let stats = bulkhead.stats();
    assert_eq!((stats.in_use, stats.cancelled, stats.completed), (0, 1, 0));
    assert_eq!(bulkhead.available_permits(), 1);
}

#[tokio::test]
async fn a_response_future_dropped_before_its_first_poll_counts_as_cancelled() {
    let bulkhead = compartment(SemaphoreConfig::new(1));
    let mut service = BulkheadLayer::new(bulkhead.clone())
        .layer(service_fn(|n: u32| async move { Ok::<_, Infallible>(n) }));

    drop(service.ready().await.unwrap().call(1));
    let stats = bulkhead.stats();
    assert_eq!((stats.admitted, stats.cancelled, stats.in_use), (1, 1, 0));
}

#[tokio::test]
async fn a_waiting_request_is_admitted_when_a_slot_frees() {
    let bulkhead = compartment(SemaphoreConfig::new(1).max_wait(Duration::from_secs(60)));
    let calls = Arc::new(AtomicUsize::new(0));
    let mut service = BulkheadLayer::new(bulkhead.clone()).layer(counting(calls.clone()));

    let held = bulkhead.try_acquire().unwrap();
    let future = service.ready().await.unwrap().call(5);
    tokio::pin!(future);
    assert!(poll!(future.as_mut()).is_pending());
    assert_eq!(bulkhead.stats().waiting, 1);
    assert_eq!(
        calls.load(SeqCst),
        0,
        "the inner service waits for the slot too"
    );

    drop(held);
    assert_eq!(future.await.unwrap(), 5);
    assert_eq!(calls.load(SeqCst), 1);
    let stats = bulkhead.stats();
    assert_eq!(
        (stats.admitted, stats.completed, stats.waiting, stats.in_use),
        (2, 2, 0, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn a_waiting_request_times_out_after_max_wait_without_reaching_the_service() {
    let bulkhead = compartment(SemaphoreConfig::new(1).max_wait(Duration::from_millis(100)));
    let calls = Arc::new(AtomicUsize::new(0));
    let mut service = BulkheadLayer::new(bulkhead.clone()).layer(counting(calls.clone()));

    let _held = bulkhead.try_acquire().unwrap();
    let started = tokio::time::Instant::now();
    let error = service.ready().await.unwrap().call(5).await.unwrap_err();

    let rejected = error.rejected().expect("a rejection");
    assert!(
        matches!(rejected.reason(), RejectReason::Timeout { waited } if waited >= Duration::from_millis(100))
    );
    assert_eq!(started.elapsed(), Duration::from_millis(100));
    assert_eq!(calls.load(SeqCst), 0);
    assert_eq!(bulkhead.stats().rejected.timeout, 1);
}

#[tokio::test]
async fn a_dropped_waiting_request_gives_up_its_place_and_never_reaches_the_service() {
    let bulkhead = compartment(SemaphoreConfig::new(1).max_wait(Duration::from_secs(60)));
    let calls = Arc::new(AtomicUsize::new(0));
    let mut service = BulkheadLayer::new(bulkhead.clone()).layer(counting(calls.clone()));

    let held = bulkhead.try_acquire().unwrap();
    let mut future = Box::pin(service.ready().await.unwrap().call(5));
    assert!(poll!(future.as_mut()).is_pending());
    assert_eq!(bulkhead.stats().waiting, 1);
    drop(future);
    drop(held);

    let stats = bulkhead.stats();
    assert_eq!((stats.waiting, stats.abandoned, stats.admitted), (0, 1, 1));
    assert_eq!(calls.load(SeqCst), 0);
}

#[tokio::test]
async fn a_rejected_request_never_reaches_the_inner_service() {
    let bulkhead = compartment(SemaphoreConfig::new(1));
    let calls = Arc::new(AtomicUsize::new(0));
    let mut service = BulkheadLayer::new(bulkhead.clone()).layer(counting(calls.clone()));

    let _held = bulkhead.try_acquire().unwrap();
    let error = service.ready().await.unwrap().call(1).await.unwrap_err();
    assert!(matches!(error, CallError::Rejected(ref r) if r.reason() == RejectReason::Full));
    assert_eq!(calls.load(SeqCst), 0);
}

#[tokio::test]
async fn an_inner_error_is_a_backend_error_and_counts_as_failed() {
    let bulkhead = compartment(SemaphoreConfig::new(1));
    let service = BulkheadLayer::new(bulkhead.clone()).layer(service_fn(|_: u32| async {
        Err::<u32, _>(io::Error::other("connection reset"))
    }));

    let error = service.oneshot(1).await.unwrap_err();
    match error {
        CallError::Backend(e) => assert_eq!(e.to_string(), "connection reset"),
        CallError::Rejected(r) => panic!("unexpected rejection: {r}"),
    }
    let stats = bulkhead.stats();
    assert_eq!((stats.failed, stats.completed, stats.in_use), (1, 0, 0));
}

#[tokio::test]
async fn a_panicking_inner_service_releases_its_slot_as_panicked() {
    let bulkhead = compartment(SemaphoreConfig::new(1));
    let service = BulkheadLayer::new(bulkhead.clone()).layer(service_fn(|_: u32| async {
        if true {
            panic!("inner service panicked");
        }
        Ok::<u32, Infallible>(0)
    }));

    let joined = tokio::spawn(service.oneshot(1)).await;
    assert!(joined.unwrap_err().is_panic());
    let stats = bulkhead.stats();
    assert_eq!((stats.panicked, stats.in_use), (1, 0));
    assert_eq!(bulkhead.available_permits(), 1);
}

#[tokio::test(start_paused = true)]
async fn every_kind_of_refusal_comes_out_as_a_rejection() {
    let bulkhead = compartment(
        SemaphoreConfig::new(1)
            .max_wait(Duration::from_millis(50))
            .max_waiting(1),
    );
    let calls = Arc::new(AtomicUsize::new(0));
    let mut service = BulkheadLayer::new(bulkhead.clone()).layer(counting(calls.clone()));
    let held = bulkhead.try_acquire().unwrap();

    // One caller waits; the queue (one place) is full for the next.
    let mut waiting = Box::pin(service.ready().await.unwrap().call(1));
    assert!(poll!(waiting.as_mut()).is_pending());
    let queue_full = service.ready().await.unwrap().call(2).await.unwrap_err();
    assert_eq!(
        queue_full.rejected().unwrap().reason(),
        RejectReason::QueueFull
    );

    // The waiting caller gives up after 50 ms.
    let timeout = waiting.await.unwrap_err();
    assert!(matches!(
        timeout.rejected().unwrap().reason(),
        RejectReason::Timeout { .. }
    ));

    // Without waiting allowed, a full compartment refuses at once.
    bulkhead
        .reconfigure(&SemaphoreConfig::new(1))
        .expect("valid config");
    let full = service.ready().await.unwrap().call(3).await.unwrap_err();
    assert_eq!(full.rejected().unwrap().reason(), RejectReason::Full);

    drop(held);
    bulkhead.close();
    let closed = service.ready().await.unwrap().call(4).await.unwrap_err();
    assert_eq!(closed.rejected().unwrap().reason(), RejectReason::Closed);

    assert_eq!(calls.load(SeqCst), 0);
    for error in [&queue_full, &timeout, &full, &closed] {
        assert_eq!(error.rejected().unwrap().compartment(), "test");
        assert!(error.backend().is_none());
    }
    let stats = bulkhead.stats();
    assert_eq!(stats.rejected.total(), 4);
}

/// A service that checks the tower contract: `call` only after `poll_ready`, and a
/// clone starts out not ready.
#[derive(Debug)]
struct StrictReadiness {
    ready: bool,
    open: Arc<AtomicBool>,
}

impl Clone for StrictReadiness {
    fn clone(&self) -> Self {
        StrictReadiness {
            ready: false,
            open: self.open.clone(),
        }
    }
}

impl Service<u32> for StrictReadiness {
    type Response = u32;
    type Error = Infallible;
    type Future = std::future::Ready<Result<u32, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        if self.open.load(SeqCst) {
            self.ready = true;
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }

    fn call(&mut self, n: u32) -> Self::Future {
        assert!(self.ready, "called without poll_ready");
        self.ready = false;
        std::future::ready(Ok(n))
    }
}

#[tokio::test]
async fn a_waiting_request_calls_the_service_that_was_made_ready() {
    let bulkhead = compartment(SemaphoreConfig::new(1).max_wait(Duration::from_secs(60)));
    let open = Arc::new(AtomicBool::new(true));
    let mut service = Bulkhead::new(
        StrictReadiness {
            ready: false,
            open: open.clone(),
        },
        bulkhead.clone(),
    );

    let held = bulkhead.try_acquire().unwrap();
    let waiting = service.ready().await.unwrap().call(9);
    // The service left behind is a fresh clone that must be made ready again.
    assert!(!service.get_ref().ready);
    drop(held);
    assert_eq!(waiting.await.unwrap(), 9);
}

#[tokio::test]
async fn poll_ready_forwards_the_inner_readiness_and_ignores_a_full_compartment() {
    let bulkhead = compartment(SemaphoreConfig::new(1));
    let open = Arc::new(AtomicBool::new(false));
    let mut service = Bulkhead::new(
        StrictReadiness {
            ready: false,
            open: open.clone(),
        },
        bulkhead.clone(),
    );
    let mut cx = Context::from_waker(futures::task::noop_waker_ref());

    assert!(
        service.poll_ready(&mut cx).is_pending(),
        "the inner service is not ready"
    );
    open.store(true, SeqCst);
    let _held = bulkhead.try_acquire().unwrap();
    assert!(
        matches!(service.poll_ready(&mut cx), Poll::Ready(Ok(()))),
        "a full compartment does not make the service un-ready"
    );
    assert_eq!(bulkhead.stats().in_use, 1, "poll_ready takes no slot");
}

#[tokio::test]
async fn a_rejection_is_found_behind_a_boxed_error() {
    let bulkhead = compartment(SemaphoreConfig::new(1));
    let service = BulkheadLayer::new(bulkhead.clone())
        .layer(service_fn(|n: u32| async move { Ok::<_, io::Error>(n) }))
        .map_err(|e| -> tower::BoxError { Box::new(e) });

    let _held = bulkhead.try_acquire().unwrap();
    let error = service.oneshot(1).await.unwrap_err();
    let rejected = is_rejection(&*error).expect("a rejection in the chain");
    assert_eq!(rejected.compartment(), "test");
    assert_eq!(rejected.reason(), RejectReason::Full);
}
