//! Permits come back on every path: cancellation, panic, errors; stats and events add up.

mod common;

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use bulkhead_semaphore::{Outcome, RejectReason, SemaphoreBulkhead, SemaphoreConfig};
use common::{assert_quiet_and_consistent, Recorder};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[tokio::test(start_paused = true)]
async fn no_permit_leaks_when_waiting_and_running_calls_are_dropped_at_random() {
    const CALLERS: usize = 2_000;
    const LIMIT: usize = 8;
    let recorder = Arc::new(Recorder::default());
    let b = SemaphoreBulkhead::builder("random-drops")
        .max_concurrent(LIMIT)
        .max_wait(Duration::from_millis(10))
        .max_waiting(12)
        .observer(recorder.clone())
        .build()
        .unwrap();
    let attempts = Arc::new(AtomicU64::new(0));
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let mut tasks = Vec::with_capacity(CALLERS);
    let mut aborts = Vec::new();
    for i in 0..CALLERS {
        let (b, attempts) = (b.clone(), attempts.clone());
        // About one arrival per millisecond against ~0.55 completions per millisecond:
        // queues form, some callers time out, some are refused.
        let arrival = Duration::from_millis(rng.random_range(0..2_000));
        let work = Duration::from_millis(rng.random_range(1..30));
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(arrival).await;
            attempts.fetch_add(1, SeqCst);
            let _ = b.execute(tokio::time::sleep(work)).await;
        }));
        // Drop 40% of the callers at a random moment around their call: while they
        // wait for a slot, while they run, or after they finished.
        if rng.random_bool(0.4) {
            let at = arrival + Duration::from_millis(rng.random_range(0..40));
            aborts.push((at, i));
        }
    }
    aborts.sort_unstable();
    let origin = tokio::time::Instant::now();
    for (at, i) in aborts {
        tokio::time::sleep_until(origin + at).await;
        tasks[i].abort();
    }
    for task in tasks {
        let _ = task.await;
    }
    let stats = b.stats();
    assert_quiet_and_consistent(&stats, attempts.load(SeqCst));
    assert_eq!(b.available_permits(), LIMIT, "{stats:?}");
    assert!(
        stats.cancelled > 0,
        "some running calls were dropped: {stats:?}"
    );
    assert!(
        stats.abandoned > 0,
        "some waiting calls were dropped: {stats:?}"
    );
    assert!(stats.rejected.timeout > 0, "{stats:?}");
    assert!(stats.completed > 0, "{stats:?}");
    assert_eq!(recorder.admitted.load(SeqCst) as u64, stats.admitted);
    assert_eq!(recorder.outcomes(Outcome::Cancelled), stats.cancelled);
    assert_eq!(recorder.outcomes(Outcome::Ok), stats.completed);
    assert_eq!(
        recorder.rejected.lock().unwrap().len() as u64,
        stats.rejected.total()
    );
    // The compartment still admits up to its limit afterwards.
    let held: Vec<_> = (0..LIMIT).map(|_| b.try_acquire().unwrap()).collect();
    assert_eq!(b.try_acquire().unwrap_err().reason(), RejectReason::Full);
    drop(held);
}

#[tokio::test]
async fn a_panic_inside_execute_releases_its_permit_and_counts_as_a_panic() {
    let recorder = Arc::new(Recorder::default());
    let b = SemaphoreBulkhead::builder("panicky")
        .max_concurrent(1)
        .observer(recorder.clone())
        .build()
        .unwrap();
    let task = tokio::spawn({
        let b = b.clone();
        async move {
            b.execute(async {
                panic!("downstream exploded");
            })
            .await
        }
    });
    let err = task.await.unwrap_err();
    assert!(err.is_panic());
    let stats = b.stats();
    assert_eq!((stats.panicked, stats.in_use), (1, 0));
    assert_eq!(b.available_permits(), 1);
    assert_eq!(recorder.outcomes(Outcome::Panic), 1);
    assert_eq!(
        b.execute(async { "still serving" }).await.unwrap(),
        "still serving"
    );
    assert_quiet_and_consistent(&b.stats(), 2);
}

#[tokio::test]
async fn a_plain_permit_dropped_normally_counts_as_completed_unless_told_otherwise() {
    let b = SemaphoreBulkhead::new("plain", SemaphoreConfig::new(2)).unwrap();
    drop(b.try_acquire().unwrap());
    let mut failing = b.try_acquire_owned().unwrap();
    failing.set_outcome(Outcome::Error);
    drop(failing);
    let stats = b.stats();
    assert_eq!((stats.completed, stats.failed), (1, 1));
    assert_quiet_and_consistent(&stats, 2);
}

#[tokio::test(start_paused = true)]
async fn an_observer_sees_each_event_exactly_once() {
    let recorder = Arc::new(Recorder::default());
    let b = SemaphoreBulkhead::builder("observed")
        .max_concurrent(3)
        .max_wait(Duration::from_millis(20))
        .max_waiting(4)
        .observer(recorder.clone())
        .build()
        .unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let mut tasks = Vec::new();
    for i in 0..300 {
        let b = b.clone();
        let work = Duration::from_millis(rng.random_range(0..40));
        let kind = i % 4;
        tasks.push(tokio::spawn(async move {
            match kind {
                0 => drop(b.execute(tokio::time::sleep(work)).await),
                1 => drop(
                    b.execute_result(async move {
                        tokio::time::sleep(work).await;
                        Err::<(), _>("boom")
                    })
                    .await,
                ),
                2 => drop(b.try_execute(tokio::time::sleep(work)).await),
                _ => drop(
                    b.execute(async move {
                        tokio::time::sleep(work).await;
                        if work.as_millis() % 2 == 0 {
                            panic!("odd failure");
                        }
                    })
                    .await,
                ),
            }
        }));
        if i % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
    }
    for t in tasks {
        let _ = t.await;
    }
    b.resize(5).unwrap();
    b.resize(5).unwrap();
    b.close();
    b.close();
    let stats = b.stats();
    assert_eq!(recorder.admitted.load(SeqCst) as u64, stats.admitted);
    assert_eq!(
        recorder.finished.lock().unwrap().len() as u64,
        stats.finished()
    );
    for outcome in Outcome::ALL {
        let counted = match outcome {
            Outcome::Ok => stats.completed,
            Outcome::Error => stats.failed,
            Outcome::Panic => stats.panicked,
            Outcome::Cancelled => stats.cancelled,
        };
        assert_eq!(recorder.outcomes(outcome), counted, "{outcome}");
    }
    let rejected = recorder.rejected.lock().unwrap();
    assert_eq!(rejected.len() as u64, stats.rejected.total());
    for reason in [
        RejectReason::Full,
        RejectReason::QueueFull,
        RejectReason::Timeout {
            waited: Duration::ZERO,
        },
    ] {
        let seen = rejected
            .iter()
            .filter(|r| r.reason().as_str() == reason.as_str())
            .count() as u64;
        assert_eq!(seen, stats.rejected.get(reason), "{}", reason.as_str());
        assert!(
            seen > 0,
            "the load should produce `{}` rejections",
            reason.as_str()
        );
    }
    assert!(stats.failed > 0 && stats.panicked > 0 && stats.completed > 0);
    assert_eq!(*recorder.resized.lock().unwrap(), vec![(3, 5)]);
    assert_eq!(recorder.closed.load(SeqCst), 1);
    assert_eq!(*recorder.names.lock().unwrap(), vec!["observed".to_owned()]);
    assert_quiet_and_consistent(&stats, 300);
}
