//! A dead or hanging collector neither fails nor slows guarded calls, memory stays
//! bounded, and shutdown returns within its timeout.

mod support;

use std::time::{Duration, Instant};

use bulkhead_otlp::{OtlpConfig, Protocol, ShutdownError};
use bulkhead_semaphore::{SemaphoreBulkhead, SemaphoreConfig};
use opentelemetry_sdk::trace::Sampler;
use tracing::Instrument as _;
use tracing_subscriber::layer::SubscriberExt as _;

const EXPORT_TIMEOUT: Duration = Duration::from_millis(300);
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(1);

/// Runs `calls` guarded calls, each in its own sampled root span; returns the
/// slowest call.
async fn run_calls(db: &SemaphoreBulkhead, calls: usize) -> Duration {
    let mut slowest = Duration::ZERO;
    for i in 0..calls {
        let started = Instant::now();
        let answer = db
            .execute(async move { i })
            .instrument(tracing::info_span!("request"))
            .await
            .expect("guarded calls never fail because of telemetry");
        assert_eq!(answer, i);
        slowest = slowest.max(started.elapsed());
    }
    slowest
}

async fn calls_survive(protocol: Protocol, url: &str) {
    let guard = bulkhead_otlp::init(
        OtlpConfig::default()
            .protocol(protocol)
            .endpoint(url)
            .set_global(false)
            .sampler(Sampler::AlwaysOn)
            .export_timeout(EXPORT_TIMEOUT)
            .metric_interval(Duration::from_millis(200))
            .shutdown_timeout(SHUTDOWN_TIMEOUT),
    )
    .expect("setting up does not need the collector");
    let subscriber = tracing_subscriber::registry().with(guard.layer());
    let default = tracing::subscriber::set_default(subscriber);
    let db = SemaphoreBulkhead::builder("db")
        .config(SemaphoreConfig::new(4))
        .observer(guard.observer().shared())
        .build()
        .unwrap();
    guard.observer().register(db.clone());

    // Warm up until the span queue is full and exports have started failing.
    let warm = run_calls(&db, 20_000).await;
    let before = support::resident_bytes();
    let slowest = run_calls(&db, 100_000).await.max(warm);
    let after = support::resident_bytes();
    assert!(
        slowest < EXPORT_TIMEOUT,
        "a call waited for the collector: {slowest:?} ({protocol:?} {url})"
    );
    if let (Some(before), Some(after)) = (before, after) {
        let grown = after.saturating_sub(before);
        // 100 000 spans kept would take well over 100 MiB.
        assert!(
            grown < 32 << 20,
            "memory grew by {} MiB over 100 000 calls ({protocol:?} {url})",
            grown >> 20
        );
    }
    let stats = db.stats();
    assert_eq!((stats.completed, stats.rejected.total()), (120_000, 0));
    drop(default);

    let started = Instant::now();
    let result = tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(
        took < SHUTDOWN_TIMEOUT + Duration::from_millis(500),
        "shutdown took {took:?} ({protocol:?} {url})"
    );
    assert!(
        matches!(
            result,
            Err(ShutdownError::TimedOut(_)) | Err(ShutdownError::Failed(_))
        ),
        "the last export cannot succeed: {result:?}"
    );
}

#[cfg(feature = "grpc")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_grpc_collector_down_calls_complete_and_shutdown_returns_in_time() {
    calls_survive(Protocol::Grpc, &support::dead_collector()).await;
}

#[cfg(feature = "grpc")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_grpc_collector_hanging_calls_complete_and_shutdown_returns_in_time() {
    let (url, _collector) = support::hanging_collector().await;
    calls_survive(Protocol::Grpc, &url).await;
}

#[cfg(feature = "http")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_http_collector_down_calls_complete_and_shutdown_returns_in_time() {
    calls_survive(Protocol::HttpProtobuf, &support::dead_collector()).await;
}

#[cfg(feature = "http")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_http_collector_hanging_calls_complete_and_shutdown_returns_in_time() {
    let (url, _collector) = support::hanging_collector().await;
    calls_survive(Protocol::HttpProtobuf, &url).await;
}
