//! Telemetry attached to a registry follows every compartment it builds, at build and
//! on reload.

mod support;

use bulkhead_core::names;
use bulkhead_metrics::{prometheus, BulkheadMetrics};
use bulkhead_otlp::OtelObserver;
use bulkhead_semaphore::SemaphoreBulkhead;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use support::{builder, TempDir};

const BEFORE: &str = r#"
[compartments.orders]
kind = "semaphore"
max_concurrent = 4

[compartments.cpu]
kind = "runtime"
worker_threads = 1
"#;

const AFTER: &str = r#"
[compartments.orders]
kind = "semaphore"
max_concurrent = 4

[compartments.payments]
kind = "semaphore"
max_concurrent = 2
"#;

/// The value of the sample `series` (name and labels as rendered) on a page.
fn sample(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.trim().parse().expect("a number"))
}

#[tokio::test]
async fn attached_metrics_publish_every_compartment_the_registry_builds_and_reloads() {
    let recorder = prometheus::builder().build_recorder();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);
    let dir = TempDir::new("attach-metrics");
    let file = dir.write("bulkhead.toml", BEFORE);

    let metrics = BulkheadMetrics::new();
    let registry = builder(&[&file], &[])
        .attach(metrics.clone())
        .build()
        .unwrap();
    assert_eq!(metrics.names(), ["cpu", "orders"]);

    let orders = registry.get::<SemaphoreBulkhead>("orders").unwrap();
    for _ in 0..3 {
        orders.execute(async {}).await.unwrap();
    }
    let page = prometheus::render(&metrics, &handle);
    let orders_label = r#"{bulkhead="orders"}"#;
    assert_eq!(
        sample(&page, &format!("{}{orders_label}", names::ADMITTED_TOTAL)),
        Some(3.0),
        "{page}"
    );
    // Recorded by the observer the registry handed the compartment when it built it.
    assert_eq!(
        sample(
            &page,
            &format!("{}_count{orders_label}", names::WAIT_DURATION_SECONDS)
        ),
        Some(3.0),
        "{page}"
    );
    assert_eq!(
        sample(&page, &format!("{}{orders_label}", names::TARGET_CAPACITY)),
        Some(4.0)
    );
    // The runtime kind's own figures, read through `Compartment::report_figures`.
    let cpu_label = r#"{bulkhead="cpu"}"#;
    for metric in [names::RUNTIME_BUSY_RATIO, names::RUNTIME_QUEUE_DEPTH] {
        assert!(
            sample(&page, &format!("{metric}{cpu_label}")).is_some(),
            "{metric} missing:\n{page}"
        );
    }

    dir.write("bulkhead.toml", AFTER);
    let report = registry.reload().unwrap();
    assert_eq!(report.added, ["payments"]);
    assert_eq!(report.removed, ["cpu"]);
    assert_eq!(metrics.names(), ["orders", "payments"]);

    let payments = registry.get::<SemaphoreBulkhead>("payments").unwrap();
    payments.execute(async {}).await.unwrap();
    let page = prometheus::render(&metrics, &handle);
    assert_eq!(
        sample(
            &page,
            &format!(
                "{}_count{{bulkhead=\"payments\"}}",
                names::CALL_DURATION_SECONDS
            )
        ),
        Some(1.0),
        "{page}"
    );
}

#[tokio::test]
async fn an_attached_otel_observer_traces_calls_and_reports_every_compartment() {
    let spans = InMemorySpanExporter::default();
    let tracer_provider = SdkTracerProvider::builder()
        .with_simple_exporter(spans.clone())
        .build();
    let exported = InMemoryMetricExporter::default();
    let meter_provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exported.clone()).build())
        .build();
    let observer = OtelObserver::new(
        tracer_provider.tracer("bulkhead"),
        &meter_provider.meter("bulkhead"),
    );
    let dir = TempDir::new("attach-otlp");
    let file = dir.write("bulkhead.toml", BEFORE);
    let registry = builder(&[&file], &[])
        .attach(observer.clone())
        .build()
        .unwrap();

    let orders = registry.get::<SemaphoreBulkhead>("orders").unwrap();
    orders.execute(async {}).await.unwrap();
    let finished = spans.get_finished_spans().unwrap();
    let call = finished
        .iter()
        .find(|s| s.name == "bulkhead.call")
        .expect("a span for the call");
    assert!(call
        .attributes
        .iter()
        .any(|kv| kv.key.as_str() == "bulkhead.name" && kv.value.as_str() == "orders"));

    // Reported compartments, as the observable instruments see them.
    let reported = |metric: &str| -> Vec<String> {
        exported.reset();
        meter_provider.force_flush().unwrap();
        let mut names = Vec::new();
        for resource in exported.get_finished_metrics().unwrap() {
            for scope in resource.scope_metrics() {
                for m in scope.metrics().filter(|m| m.name() == metric) {
                    let attributes: Vec<_> = match m.data() {
                        AggregatedMetrics::U64(MetricData::Gauge(g)) => g
                            .data_points()
                            .flat_map(|p| p.attributes().cloned().collect::<Vec<_>>())
                            .collect(),
                        AggregatedMetrics::F64(MetricData::Gauge(g)) => g
                            .data_points()
                            .flat_map(|p| p.attributes().cloned().collect::<Vec<_>>())
                            .collect(),
                        other => panic!("{metric} is not a gauge: {other:?}"),
                    };
                    names.extend(
                        attributes
                            .iter()
                            .filter(|kv| kv.key.as_str() == names::LABEL_BULKHEAD)
                            .map(|kv| kv.value.as_str().into_owned()),
                    );
                }
            }
        }
        names.sort();
        names
    };
    assert_eq!(reported(names::CAPACITY), ["cpu", "orders"]);
    assert_eq!(reported(names::RUNTIME_BUSY_RATIO), ["cpu"]);

    dir.write("bulkhead.toml", AFTER);
    registry.reload().unwrap();
    assert_eq!(reported(names::CAPACITY), ["orders", "payments"]);
    assert!(reported(names::RUNTIME_BUSY_RATIO).is_empty());
}
