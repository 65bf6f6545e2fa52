//! Spans and metrics reach an OTLP receiver, over gRPC and over HTTP/protobuf.

mod support;

use std::collections::BTreeSet;
use std::io;
use std::time::Duration;

use bulkhead_core::names;
use bulkhead_otlp::{record_error, OtlpConfig, Protocol};
use bulkhead_semaphore::SemaphoreBulkhead;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use support::{number_attr, string_attr, Received};
use tracing::Instrument as _;
use tracing_subscriber::layer::SubscriberExt as _;

/// Runs guarded calls of every outcome inside a `checkout` span through an OTLP
/// pipeline sending to `url`, shuts it down, and checks what `received` got.
async fn calls_are_exported(protocol: Protocol, url: &str, received: &Received) {
    let guard = bulkhead_otlp::init(
        OtlpConfig::default()
            .protocol(protocol)
            .endpoint(url)
            .service_name("shop")
            .set_global(false)
            .metric_interval(Duration::from_secs(3600))
            .shutdown_timeout(Duration::from_secs(10)),
    )
    .expect("the pipeline sets up");
    let subscriber = tracing_subscriber::registry().with(guard.layer());
    let default = tracing::subscriber::set_default(subscriber);

    let db = SemaphoreBulkhead::builder("db")
        .max_concurrent(1)
        .max_wait(Duration::from_secs(5))
        .observer(guard.observer().shared())
        .build()
        .unwrap();
    guard.observer().register(db.clone());

    let checkout = tracing::info_span!("checkout");
    async {
        db.execute(async {}).await.unwrap();
        let failed = db
            .execute_result(async {
                let error = io::Error::other("disk full");
                record_error(&error);
                Err::<(), _>(error)
            })
            .await;
        assert!(failed.unwrap_err().backend().is_some());
        let held = db.try_acquire().unwrap();
        assert!(db.try_execute(async {}).await.is_err());
        let release_later = async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            drop(held);
        };
        let (waited, ()) = tokio::join!(db.execute(async {}), release_later);
        waited.unwrap();
    }
    .instrument(checkout.clone())
    .await;
    drop(checkout);
    drop(default);

    tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap()
        .expect("shutdown flushes to a live collector");

    // Spans: five calls, children of `checkout`, in its trace.
    let spans = received.spans();
    let (service, checkout) = spans
        .iter()
        .find(|(_, s)| s.name == "checkout")
        .expect("the caller's span is exported");
    assert_eq!(service, "shop");
    let calls: Vec<_> = spans
        .iter()
        .map(|(_, s)| s)
        .filter(|s| s.name == names::SPAN_NAME)
        .collect();
    assert_eq!(calls.len(), 5, "one span per guarded call: {calls:#?}");
    for call in &calls {
        assert_eq!(call.trace_id, checkout.trace_id);
        assert_eq!(
            call.parent_span_id, checkout.span_id,
            "a child of the caller's span"
        );
        assert_eq!(
            string_attr(&call.attributes, names::ATTR_NAME).as_deref(),
            Some("db")
        );
        assert_eq!(
            string_attr(&call.attributes, names::ATTR_TYPE).as_deref(),
            Some("semaphore")
        );
        assert!(call.start_time_unix_nano <= call.end_time_unix_nano);
        assert!(checkout.start_time_unix_nano <= call.start_time_unix_nano + 1_000_000);
    }
    let result = |s: &&opentelemetry_proto::tonic::trace::v1::Span| {
        string_attr(&s.attributes, names::ATTR_RESULT).unwrap_or_default()
    };
    let by_result = |r: &str| calls.iter().filter(|s| result(s) == r).collect::<Vec<_>>();
    let status = |s: &opentelemetry_proto::tonic::trace::v1::Span| {
        s.status.as_ref().map_or(0, |status| status.code)
    };

    let successes = by_result("success");
    assert_eq!(successes.len(), 3);
    for s in &successes {
        assert_eq!(string_attr(&s.attributes, names::ATTR_ERROR), None);
        assert_ne!(status(s), StatusCode::Error as i32);
        assert!(number_attr(&s.attributes, names::ATTR_DURATION_MS).is_some());
    }
    let waited = successes
        .iter()
        .find(|s| number_attr(&s.attributes, names::ATTR_WAIT_MS).unwrap() >= 20.0)
        .expect("the call that waited carries its wait");
    let wait_ms = number_attr(&waited.attributes, names::ATTR_WAIT_MS).unwrap();
    let span_ms = (waited.end_time_unix_nano - waited.start_time_unix_nano) as f64 / 1e6;
    assert!(
        span_ms + 0.5 >= wait_ms,
        "the span starts where the wait started"
    );
    let holder = successes
        .iter()
        .find(|s| number_attr(&s.attributes, names::ATTR_DURATION_MS).unwrap() >= 20.0)
        .expect("the slot held while the other waited");
    assert_eq!(
        number_attr(&holder.attributes, names::ATTR_WAIT_MS),
        Some(0.0)
    );

    let errors = by_result("error");
    assert_eq!(errors.len(), 1);
    assert_eq!(
        string_attr(&errors[0].attributes, names::ATTR_ERROR).as_deref(),
        Some("disk full")
    );
    assert_eq!(status(errors[0]), StatusCode::Error as i32);

    let rejected = by_result("rejected");
    assert_eq!(rejected.len(), 1);
    assert_eq!(
        string_attr(&rejected[0].attributes, names::ATTR_REJECTION_REASON).as_deref(),
        Some("full")
    );
    assert_eq!(status(rejected[0]), StatusCode::Error as i32);
    let message = &rejected[0].status.as_ref().unwrap().message;
    assert!(
        message.contains("bulkhead `db` rejected the call"),
        "{message}"
    );

    // Metrics: the Prometheus names, with the stats' values.
    let db_attr = [("bulkhead", "db")];
    assert_eq!(
        received.last_number(names::ADMITTED_TOTAL, &db_attr),
        Some(4.0)
    );
    assert_eq!(
        received.last_number(
            names::REJECTIONS_TOTAL,
            &[("bulkhead", "db"), ("reason", "full")]
        ),
        Some(1.0)
    );
    assert_eq!(
        received.last_number(
            names::REJECTIONS_TOTAL,
            &[("bulkhead", "db"), ("reason", "timeout")]
        ),
        Some(0.0)
    );
    assert_eq!(
        received.last_number(names::CALLS_TOTAL, &[("bulkhead", "db"), ("outcome", "ok")]),
        Some(3.0)
    );
    assert_eq!(
        received.last_number(
            names::CALLS_TOTAL,
            &[("bulkhead", "db"), ("outcome", "error")]
        ),
        Some(1.0)
    );
    assert_eq!(received.last_number(names::CAPACITY, &db_attr), Some(1.0));
    assert_eq!(
        received.last_number(names::AVAILABLE_PERMITS, &db_attr),
        Some(1.0)
    );
    assert_eq!(
        received.last_number(names::ACTIVE_TASKS, &db_attr),
        Some(0.0)
    );
    assert_eq!(
        received.last_number(names::UTILIZATION, &db_attr),
        Some(0.0)
    );
    assert_eq!(
        received.last_number(names::REJECTION_RATE, &db_attr),
        Some(0.2)
    );
    let (count, bounds) = received
        .last_histogram(names::WAIT_DURATION_SECONDS, "db")
        .expect("the wait histogram");
    assert_eq!(count, 4);
    assert_eq!(bounds, names::DURATION_BUCKETS_SECONDS);
    let (count, _) = received
        .last_histogram(names::CALL_DURATION_SECONDS, "db")
        .expect("the hold histogram");
    assert_eq!(count, 4);

    let exported: BTreeSet<String> = received.metrics().into_iter().map(|m| m.name).collect();
    let common: BTreeSet<String> = names::COMMON_METRICS
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        exported, common,
        "the metrics every compartment has, by their core names"
    );
    assert!(received.metric_services().iter().all(|s| s == "shop"));
}

#[cfg(feature = "grpc")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_and_metrics_reach_a_grpc_receiver() {
    let (url, received) = support::grpc_receiver().await;
    calls_are_exported(Protocol::Grpc, &url, &received).await;
}

#[cfg(feature = "http")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_and_metrics_reach_an_http_receiver() {
    let (url, received) = support::http_receiver().await;
    calls_are_exported(Protocol::HttpProtobuf, &url, &received).await;
}
