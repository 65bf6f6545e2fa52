//! The figures only some kinds have reach OpenTelemetry, read once per collection.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bulkhead_core::names::{LABEL_BULKHEAD, POOL_IDLE, POOL_SIZE, RUNTIME_BUSY_RATIO};
use bulkhead_core::{Compartment, CompartmentInfo, Stats};
use bulkhead_otlp::OtelObserver;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;

/// A compartment whose figures count how often they are read, as a runtime's would
/// take a sample each time.
struct Counting {
    info: CompartmentInfo,
    reads: Arc<AtomicUsize>,
}

impl Compartment for Counting {
    fn info(&self) -> &CompartmentInfo {
        &self.info
    }
    fn stats(&self) -> Stats {
        Stats::default()
    }
    fn close(&self) {}
    fn is_closed(&self) -> bool {
        false
    }
    fn report_figures(&self, report: &mut dyn FnMut(&'static str, f64)) {
        let n = self.reads.fetch_add(1, Ordering::SeqCst) + 1;
        report(POOL_SIZE, 3.0);
        report(POOL_IDLE, n as f64);
    }
}

/// The value of `metric` for compartment `name` in the last export.
fn gauge(exported: &InMemoryMetricExporter, metric: &str, name: &str) -> Option<f64> {
    let all = exported.get_finished_metrics().unwrap();
    let resource = all.last()?;
    for scope in resource.scope_metrics() {
        for m in scope.metrics().filter(|m| m.name() == metric) {
            if let AggregatedMetrics::F64(MetricData::Gauge(g)) = m.data() {
                for point in g.data_points() {
                    if point
                        .attributes()
                        .any(|kv| kv.key.as_str() == LABEL_BULKHEAD && kv.value.as_str() == name)
                    {
                        return Some(point.value());
                    }
                }
            }
        }
    }
    None
}

#[test]
fn kind_figures_are_read_once_per_collection_for_every_gauge() {
    let exported = InMemoryMetricExporter::default();
    let meter_provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exported.clone()).build())
        .build();
    let observer = OtelObserver::new(
        SdkTracerProvider::builder().build().tracer("bulkhead"),
        &meter_provider.meter("bulkhead"),
    );
    let reads = Arc::new(AtomicUsize::new(0));
    observer.register(Counting {
        info: CompartmentInfo::new("db", "deadpool"),
        reads: Arc::clone(&reads),
    });

    for collection in 1..=3 {
        meter_provider.force_flush().unwrap();
        assert_eq!(
            reads.load(Ordering::SeqCst),
            collection,
            "one read per collection"
        );
        assert_eq!(gauge(&exported, POOL_SIZE, "db"), Some(3.0));
        // Every gauge of a collection shows the same read.
        assert_eq!(gauge(&exported, POOL_IDLE, "db"), Some(collection as f64));
    }
    // A figure the compartment does not have is not reported for it.
    assert_eq!(gauge(&exported, RUNTIME_BUSY_RATIO, "db"), None);
}
