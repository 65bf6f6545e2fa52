//! What telemetry costs per guarded call.
//!
//! Every benchmark of the `telemetry` group admits one call to the same semaphore
//! compartment and releases it (`acquire().await` then drop, one slot always free);
//! they differ only in what records the call:
//!
//! - `no observer`: nothing; the compartment reads no clock.
//! - `noop observer`: an observer whose hooks do nothing: what attaching any observer
//!   costs (the compartment reads the clock at admission and at release).
//! - `metrics observer`: `bulkhead-metrics`' observer with the Prometheus recorder
//!   installed globally: two bucketed duration records per call; the buckets are
//!   handed to the recorder between samples, as at scrape time.
//! - `guide style`: no observer, but what the original guide does per call: a
//!   `gauge!` macro (key built and looked up each time, the name cloned into its
//!   label) and an `info!` through a fmt subscriber writing to a sink, with the same
//!   recorder.
//! - `otlp observer (sampled out)`: `bulkhead-otlp`'s observer with a tracer whose
//!   sampler drops every span, and a meter with a reader.
//! - `otlp observer (sampled in)`: the same with every span sampled and handed to a
//!   batch processor whose exporter discards them.
//!
//! The OTLP benchmarks run under a `tracing` subscriber with the
//! `tracing-opentelemetry` layer, as a service would.

use std::hint::black_box;
use std::sync::Arc;

use std::time::{Duration, Instant};

use bulkhead_benches::{current_thread_runtime, quick, timing};
use bulkhead_core::NoopObserver;
use bulkhead_metrics::BulkheadMetrics;
use bulkhead_otlp::OtelObserver;
use bulkhead_semaphore::{SemaphoreBulkhead, SharedObserver};
use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::{
    BatchSpanProcessor, Sampler, SdkTracerProvider, SpanData, SpanExporter,
};
use tracing_subscriber::layer::SubscriberExt as _;

/// Slots of the compartment; one call at a time takes one.
const PERMITS: usize = 8;

fn compartment(observer: Option<SharedObserver>) -> SemaphoreBulkhead {
    let mut builder = SemaphoreBulkhead::builder("bench").max_concurrent(PERMITS);
    if let Some(observer) = observer {
        builder = builder.observer(observer);
    }
    builder.build().expect("valid config")
}

/// A span exporter that drops what it is given.
#[derive(Debug)]
struct Discard;

impl SpanExporter for Discard {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        black_box(batch);
        Ok(())
    }
}

impl PushMetricExporter for Discard {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        black_box(metrics);
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

fn otel_observer(sampler: Sampler) -> (OtelObserver, SdkTracerProvider, SdkMeterProvider) {
    let tracer_provider = SdkTracerProvider::builder()
        .with_sampler(sampler)
        .with_span_processor(BatchSpanProcessor::builder(Discard).build())
        .build();
    let meter_provider = SdkMeterProvider::builder()
        .with_reader(
            PeriodicReader::builder(Discard)
                .with_interval(Duration::from_secs(1))
                .build(),
        )
        .build();
    let observer = OtelObserver::new(
        tracer_provider.tracer("bench"),
        &meter_provider.meter("bench"),
    );
    (observer, tracer_provider, meter_provider)
}

fn telemetry(c: &mut Criterion) {
    let rt = current_thread_runtime();
    let prometheus = bulkhead_metrics::prometheus::install().expect("the only recorder");
    let metrics = BulkheadMetrics::new();
    let mut group = c.benchmark_group("telemetry");
    let (warm_up, measurement) = timing();
    group
        .warm_up_time(warm_up)
        .measurement_time(measurement)
        .sample_size(if quick() { 10 } else { 50 });

    // Times `iters` calls of `$body` inside one `block_on`, after draining the
    // recorder's histogram samples so that memory does not pile up between samples.
    macro_rules! calls {
        ($b:expr, $body:expr) => {
            $b.iter_custom(|iters| {
                metrics.publish();
                prometheus.run_upkeep();
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        $body.await;
                    }
                    start.elapsed()
                })
            })
        };
    }

    let bare = compartment(None);
    group.bench_function("no observer", |b| {
        calls!(b, async { drop(black_box(bare.acquire().await.unwrap())) })
    });

    // What any observer costs: the compartment reads the clock at admission and at
    // release and makes two dynamic calls.
    let noop = compartment(Some(Arc::new(NoopObserver)));
    group.bench_function("noop observer", |b| {
        calls!(b, async { drop(black_box(noop.acquire().await.unwrap())) })
    });

    let observed = compartment(Some(metrics.observer("bench")));
    metrics.register(observed.clone()).expect("one compartment");
    group.bench_function("metrics observer", |b| {
        calls!(b, async {
            drop(black_box(observed.acquire().await.unwrap()))
        })
    });

    {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(std::io::sink)
            .with_max_level(tracing::Level::INFO)
            .finish();
        let _default = tracing::subscriber::set_default(subscriber);
        let name = String::from("bench");
        group.bench_function("guide style", |b| {
            calls!(b, async {
                let permit = bare.acquire().await.unwrap();
                metrics::gauge!("bulkhead_active_tasks", "bulkhead" => name.clone())
                    .set((PERMITS - 1) as f64);
                tracing::info!("Bulkhead {} acquired a permit", name);
                drop(black_box(permit));
            })
        });
    }

    for (bench, sampler) in [
        ("otlp observer (sampled out)", Sampler::AlwaysOff),
        ("otlp observer (sampled in)", Sampler::AlwaysOn),
    ] {
        let (observer, tracer_provider, meter_provider) = otel_observer(sampler);
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(tracer_provider.tracer("bench")));
        let _default = tracing::subscriber::set_default(subscriber);
        let traced = compartment(Some(observer.shared()));
        observer.register(traced.clone());
        group.bench_function(bench, |b| {
            calls!(b, async {
                drop(black_box(traced.acquire().await.unwrap()))
            })
        });
        let _ = tracer_provider.shutdown_with_timeout(Duration::from_secs(5));
        let _ = meter_provider.shutdown();
    }
    group.finish();
}

criterion_group!(benches, telemetry);
criterion_main!(benches);
