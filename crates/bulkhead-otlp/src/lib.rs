//! Bulkhead compartments in OpenTelemetry: a span per guarded call, instruments with
//! the Prometheus metrics' names and meaning, and one call that sets up OTLP export.
//!
//! - [`OtelObserver`]: attached to compartments at build time, it records each guarded
//!   call as a span (a child of the caller's current `tracing` span, through
//!   `tracing-opentelemetry`) with the attributes of
//!   [`bulkhead_core::names`] (`bulkhead.name`, `bulkhead.type`, `bulkhead.wait_ms`,
//!   `bulkhead.duration_ms`, `bulkhead.result`, `bulkhead.error`,
//!   `bulkhead.rejection_reason`); refused calls are error spans. It also records the
//!   wait and hold histograms per call and reports the registered compartments'
//!   [`Stats`](bulkhead_core::Stats) through observable instruments at each collection.
//! - `init`: tracer and meter providers exporting over OTLP (gRPC or HTTP/protobuf),
//!   honouring the standard `OTEL_*` variables, returning an [`OtlpGuard`] that flushes
//!   and shuts down within a timeout.
//! - [`record_error`]: gives the span of a failing call its error message.
//!
//! A dead or hanging collector never slows or fails a guarded call: spans and metrics
//! are exported from the SDK's own threads, through a bounded queue.
//!
//! # Example
//!
//! ```
//! use bulkhead_otlp::OtelObserver;
//! use bulkhead_semaphore::SemaphoreBulkhead;
//! use opentelemetry::metrics::MeterProvider as _;
//! use opentelemetry::trace::TracerProvider as _;
//! use opentelemetry_sdk::metrics::SdkMeterProvider;
//! use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
//! use tracing::Instrument as _;
//! use tracing_subscriber::layer::SubscriberExt as _;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // In a service, `bulkhead_otlp::init(OtlpConfig::default())?` builds these with
//! // the OTLP exporter; here spans stay in memory.
//! let spans = InMemorySpanExporter::default();
//! let provider = SdkTracerProvider::builder().with_simple_exporter(spans.clone()).build();
//! let tracer = provider.tracer("bulkhead");
//! let subscriber = tracing_subscriber::registry()
//!     .with(tracing_opentelemetry::layer().with_tracer(tracer.clone()));
//! let _default = tracing::subscriber::set_default(subscriber);
//!
//! let observer = OtelObserver::new(tracer, &SdkMeterProvider::default().meter("bulkhead"));
//! let payments = SemaphoreBulkhead::builder("payments")
//!     .observer(observer.shared())
//!     .build()?;
//!
//! payments
//!     .execute(async { "paid" })
//!     .instrument(tracing::info_span!("checkout"))
//!     .await?;
//!
//! let recorded = spans.get_finished_spans()?;
//! let call = recorded.iter().find(|s| s.name == "bulkhead.call").unwrap();
//! let checkout = recorded.iter().find(|s| s.name == "checkout").unwrap();
//! assert_eq!(call.parent_span_id, checkout.span_context.span_id());
//! assert!(call.attributes.iter().any(|kv| kv.key.as_str() == "bulkhead.result"
//!     && kv.value.as_str() == "success"));
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! - `grpc` (default): OTLP over gRPC with tonic. `init` must then run inside a tokio
//!   runtime.
//! - `http`: OTLP over HTTP with protobuf bodies, with a blocking `reqwest` client run
//!   on the SDK's export threads (no TLS unless enabled through `opentelemetry-otlp`'s
//!   own features).
//!
//! Without either, [`OtelObserver`] and [`record_error`] remain (any `opentelemetry_sdk`
//! tracer and meter will do) and the pipeline setup (`init` and its types) is left
//! out.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod instruments;
mod observer;
#[cfg(any(feature = "grpc", feature = "http"))]
mod setup;

pub use bulkhead_core::{names, Compartment, Observer, SharedObserver};
pub use observer::{record_error, OtelObserver};
#[cfg(any(feature = "grpc", feature = "http"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "grpc", feature = "http"))))]
pub use setup::{init, OtlpConfig, OtlpGuard, Protocol, SetupError, ShutdownError, SCOPE};
