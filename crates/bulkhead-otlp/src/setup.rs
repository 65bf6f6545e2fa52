//! One call that sets up the OTLP pipeline, and the guard that shuts it down.

use std::error::Error;
use std::fmt;
use std::sync::mpsc;
use std::time::Duration;

use opentelemetry::metrics::{Meter, MeterProvider as _};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{global, Key};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracer, SdkTracerProvider,
};
use opentelemetry_sdk::Resource;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::registry::LookupSpan;

use crate::OtelObserver;

/// The instrumentation scope of the tracer and meter: this crate's name.
pub const SCOPE: &str = "bulkhead";

/// The transport to the collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// OTLP over gRPC (feature `grpc`), usually port 4317.
    Grpc,
    /// OTLP over HTTP with protobuf bodies (feature `http`), usually port 4318.
    HttpProtobuf,
}

impl Protocol {
    /// The value of `OTEL_EXPORTER_OTLP_PROTOCOL` naming this protocol: `grpc` or
    /// `http/protobuf`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
        }
    }

    fn from_env() -> Result<Option<Protocol>, SetupError> {
        let Some(value) = env("OTEL_EXPORTER_OTLP_PROTOCOL") else {
            return Ok(None);
        };
        match value.trim() {
            "grpc" => Ok(Some(Protocol::Grpc)),
            "http/protobuf" => Ok(Some(Protocol::HttpProtobuf)),
            other => Err(SetupError::new(format!(
                "OTEL_EXPORTER_OTLP_PROTOCOL is `{other}`; supported: `grpc`, `http/protobuf`"
            ))),
        }
    }
}

impl Default for Protocol {
    /// gRPC when the `grpc` feature is on, else HTTP.
    fn default() -> Self {
        if cfg!(feature = "grpc") {
            Protocol::Grpc
        } else {
            Protocol::HttpProtobuf
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// What [`init`] sets up. Every field is a default that the standard `OTEL_*`
/// environment variable overrides, so a deployment can redirect or tune telemetry
/// without a rebuild.
///
/// ```
/// use std::time::Duration;
/// use bulkhead_otlp::{OtlpConfig, Protocol};
///
/// let config = OtlpConfig::default()
///     .service_name("orders")
///     .protocol(Protocol::Grpc)
///     .endpoint("http://collector:4317")
///     .shutdown_timeout(Duration::from_secs(2));
/// assert_eq!(config.shutdown_timeout, Duration::from_secs(2));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OtlpConfig {
    /// The `service.name` resource attribute. Overridden by `OTEL_SERVICE_NAME` or a
    /// `service.name` in `OTEL_RESOURCE_ATTRIBUTES`.
    ///
    /// Default: none (the SDK's `unknown_service`).
    pub service_name: Option<String>,
    /// The transport. Overridden by `OTEL_EXPORTER_OTLP_PROTOCOL` (`grpc` or
    /// `http/protobuf`).
    ///
    /// Default: gRPC when the `grpc` feature is on, else HTTP/protobuf.
    pub protocol: Option<Protocol>,
    /// The collector's base URL, such as `http://collector:4317` for gRPC or
    /// `http://collector:4318` for HTTP (where `/v1/traces` and `/v1/metrics` are
    /// appended). Overridden by `OTEL_EXPORTER_OTLP_ENDPOINT` and the per-signal
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`.
    ///
    /// Default: none (`http://localhost:4317` or `http://localhost:4318`).
    pub endpoint: Option<String>,
    /// How long one export may take. Overridden by `OTEL_EXPORTER_OTLP_TIMEOUT` and
    /// the per-signal variables (milliseconds).
    ///
    /// Default: none (10 s).
    pub export_timeout: Option<Duration>,
    /// The sampler. Overridden by `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.
    ///
    /// Default: none (parent-based, always on).
    pub sampler: Option<Sampler>,
    /// How often metrics are exported. Overridden by `OTEL_METRIC_EXPORT_INTERVAL`
    /// (milliseconds).
    ///
    /// Default: none (60 s).
    pub metric_interval: Option<Duration>,
    /// How long [`OtlpGuard::shutdown`] (or dropping the guard) waits for the last
    /// export before giving up. Shutdown returns within it even when the collector
    /// hangs.
    ///
    /// Default: 5 s.
    pub shutdown_timeout: Duration,
    /// Whether the providers become OpenTelemetry's global ones.
    ///
    /// Default: true.
    pub set_global: bool,
}

impl Default for OtlpConfig {
    fn default() -> Self {
        OtlpConfig {
            service_name: None,
            protocol: None,
            endpoint: None,
            export_timeout: None,
            sampler: None,
            metric_interval: None,
            shutdown_timeout: Duration::from_secs(5),
            set_global: true,
        }
    }
}

impl OtlpConfig {
    /// Sets `service_name`.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Sets `protocol`.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// Sets `endpoint`.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Sets `export_timeout`.
    pub fn export_timeout(mut self, timeout: Duration) -> Self {
        self.export_timeout = Some(timeout);
        self
    }

    /// Sets `sampler`.
    pub fn sampler(mut self, sampler: Sampler) -> Self {
        self.sampler = Some(sampler);
        self
    }

    /// Sets `metric_interval`.
    pub fn metric_interval(mut self, interval: Duration) -> Self {
        self.metric_interval = Some(interval);
        self
    }

    /// Sets `shutdown_timeout`.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Sets `set_global`.
    pub fn set_global(mut self, set_global: bool) -> Self {
        self.set_global = set_global;
        self
    }
}

/// Sets up tracing and metrics export over OTLP: a tracer provider with a batching
/// span processor, a meter provider with a periodic reader, both with the OTLP
/// exporter of the configured protocol, and an [`OtelObserver`] using them.
///
/// Exports run on the SDK's own threads: a slow or dead collector never slows or fails
/// a guarded call. Spans wait in a bounded queue (2048, `OTEL_BSP_MAX_QUEUE_SIZE`) and
/// are dropped when it is full.
///
/// With gRPC, call it inside a tokio runtime (the transport lives on it) and keep the
/// runtime running until the guard is shut down.
///
/// ```no_run
/// use bulkhead_otlp::OtlpConfig;
/// use tracing_subscriber::layer::SubscriberExt as _;
/// use tracing_subscriber::util::SubscriberInitExt as _;
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let otlp = bulkhead_otlp::init(OtlpConfig::default().service_name("orders"))?;
/// tracing_subscriber::registry().with(otlp.layer()).init();
///
/// let db = bulkhead_semaphore::SemaphoreBulkhead::builder("db")
///     .observer(otlp.observer().shared())
///     .build()?;
/// otlp.observer().register(db.clone());
/// // ... serve ...
/// tokio::task::spawn_blocking(move || otlp.shutdown()).await??;
/// # Ok(())
/// # }
/// ```
pub fn init(config: OtlpConfig) -> Result<OtlpGuard, SetupError> {
    let protocol = Protocol::from_env()?
        .or(config.protocol)
        .unwrap_or_default();
    let resource = resource(&config);

    let spans = span_exporter(protocol, &config)?;
    let mut tracer_provider = SdkTracerProvider::builder()
        .with_resource(resource.clone())
        .with_span_processor(
            BatchSpanProcessor::builder(spans)
                .with_batch_config(BatchConfigBuilder::default().build())
                .build(),
        );
    if env("OTEL_TRACES_SAMPLER").is_none() {
        if let Some(sampler) = config.sampler.clone() {
            tracer_provider = tracer_provider.with_sampler(sampler);
        }
    }
    let tracer_provider = tracer_provider.build();

    let metrics = metric_exporter(protocol, &config)?;
    let mut reader = PeriodicReader::builder(metrics);
    if env("OTEL_METRIC_EXPORT_INTERVAL").is_none() {
        if let Some(interval) = config.metric_interval {
            reader = reader.with_interval(interval);
        }
    }
    let meter_provider = SdkMeterProvider::builder()
        .with_resource(resource)
        .with_reader(reader.build())
        .build();

    if config.set_global {
        global::set_tracer_provider(tracer_provider.clone());
        global::set_meter_provider(meter_provider.clone());
    }
    let tracer = tracer_provider.tracer(SCOPE);
    let meter = meter_provider.meter(SCOPE);
    let observer = OtelObserver::new(tracer.clone(), &meter);
    Ok(OtlpGuard {
        tracer_provider,
        meter_provider,
        tracer,
        meter,
        observer,
        shutdown_timeout: config.shutdown_timeout,
        shut_down: false,
    })
}

fn resource(config: &OtlpConfig) -> Resource {
    let detected = Resource::builder().build();
    let service = Key::from_static_str("service.name");
    let named_by_env = detected
        .get(&service)
        .is_some_and(|name| !name.as_str().starts_with("unknown_service"));
    match &config.service_name {
        Some(name) if !named_by_env => Resource::builder().with_service_name(name.clone()).build(),
        _ => detected,
    }
}

/// The endpoint to pass to an exporter: the configured one unless an environment
/// variable names one (the exporter then reads it), with the signal's path appended
/// for HTTP.
fn endpoint(protocol: Protocol, config: &OtlpConfig, signal: &str) -> Option<String> {
    let signal_var = format!("OTEL_EXPORTER_OTLP_{}_ENDPOINT", signal.to_uppercase());
    if env("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() || env(&signal_var).is_some() {
        return None;
    }
    let base = config.endpoint.as_deref()?;
    Some(match protocol {
        Protocol::Grpc => base.to_owned(),
        Protocol::HttpProtobuf => format!("{}/v1/{signal}", base.trim_end_matches('/')),
    })
}

/// The export timeout to pass to an exporter, unless an environment variable sets one.
fn timeout(config: &OtlpConfig, signal: &str) -> Option<Duration> {
    let signal_var = format!("OTEL_EXPORTER_OTLP_{}_TIMEOUT", signal.to_uppercase());
    if env("OTEL_EXPORTER_OTLP_TIMEOUT").is_some() || env(&signal_var).is_some() {
        return None;
    }
    config.export_timeout
}

macro_rules! exporter {
    ($builder:expr, $protocol:expr, $config:expr, $signal:literal) => {{
        #[allow(unused_imports)]
        use opentelemetry_otlp::WithExportConfig as _;
        match $protocol {
            #[cfg(feature = "grpc")]
            Protocol::Grpc => {
                if tokio::runtime::Handle::try_current().is_err() {
                    return Err(SetupError::new(
                        "OTLP over gRPC must be set up inside a tokio runtime",
                    ));
                }
                let mut builder = $builder.with_tonic();
                if let Some(endpoint) = endpoint($protocol, $config, $signal) {
                    builder = builder.with_endpoint(endpoint);
                }
                if let Some(timeout) = timeout($config, $signal) {
                    builder = builder.with_timeout(timeout);
                }
                builder.build().map_err(SetupError::exporter)
            }
            #[cfg(feature = "http")]
            Protocol::HttpProtobuf => {
                let mut builder = $builder
                    .with_http()
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary);
                if let Some(endpoint) = endpoint($protocol, $config, $signal) {
                    builder = builder.with_endpoint(endpoint);
                }
                if let Some(timeout) = timeout($config, $signal) {
                    builder = builder.with_timeout(timeout);
                }
                builder.build().map_err(SetupError::exporter)
            }
            #[allow(unreachable_patterns)]
            other => Err(SetupError::new(format!(
                "OTLP protocol `{}` needs this crate's `{}` feature",
                other.as_str(),
                if other == Protocol::Grpc {
                    "grpc"
                } else {
                    "http"
                },
            ))),
        }
    }};
}

fn span_exporter(
    protocol: Protocol,
    config: &OtlpConfig,
) -> Result<opentelemetry_otlp::SpanExporter, SetupError> {
    exporter!(
        opentelemetry_otlp::SpanExporter::builder(),
        protocol,
        config,
        "traces"
    )
}

fn metric_exporter(
    protocol: Protocol,
    config: &OtlpConfig,
) -> Result<opentelemetry_otlp::MetricExporter, SetupError> {
    exporter!(
        opentelemetry_otlp::MetricExporter::builder(),
        protocol,
        config,
        "metrics"
    )
}

/// The running OTLP pipeline. Shut it down with [`shutdown`](Self::shutdown), or drop
/// it: both flush what is buffered and return within the configured timeout.
pub struct OtlpGuard {
    tracer_provider: SdkTracerProvider,
    meter_provider: SdkMeterProvider,
    tracer: SdkTracer,
    meter: Meter,
    observer: OtelObserver,
    shutdown_timeout: Duration,
    shut_down: bool,
}

impl OtlpGuard {
    /// The observer to attach to compartments (and to register them with).
    pub fn observer(&self) -> &OtelObserver {
        &self.observer
    }

    /// The tracer the observer records spans with.
    pub fn tracer(&self) -> SdkTracer {
        self.tracer.clone()
    }

    /// The meter the observer's instruments belong to.
    pub fn meter(&self) -> Meter {
        self.meter.clone()
    }

    /// The tracer provider.
    pub fn tracer_provider(&self) -> &SdkTracerProvider {
        &self.tracer_provider
    }

    /// The meter provider.
    pub fn meter_provider(&self) -> &SdkMeterProvider {
        &self.meter_provider
    }

    /// A `tracing` layer exporting the application's spans through this pipeline, so
    /// that guarded calls' spans become children of them.
    pub fn layer<S>(&self) -> OpenTelemetryLayer<S, SdkTracer>
    where
        S: tracing::Subscriber + for<'span> LookupSpan<'span>,
    {
        tracing_opentelemetry::layer().with_tracer(self.tracer.clone())
    }

    /// Exports what is buffered now, waiting at most the shutdown timeout.
    pub fn force_flush(&self) -> Result<(), ShutdownError> {
        let tracer_provider = self.tracer_provider.clone();
        let meter_provider = self.meter_provider.clone();
        within(self.shutdown_timeout, move || {
            let spans = tracer_provider.force_flush();
            let metrics = meter_provider.force_flush();
            spans.and(metrics).map_err(|e| e.to_string())
        })
    }

    /// Flushes and shuts both providers down, returning within the shutdown timeout
    /// even when the collector is down or hangs.
    ///
    /// Blocks the calling thread: from async code, call it through
    /// `tokio::task::spawn_blocking` (with gRPC the export needs the runtime's other
    /// threads).
    pub fn shutdown(mut self) -> Result<(), ShutdownError> {
        self.shut_down = true;
        self.shutdown_inner()
    }

    fn shutdown_inner(&self) -> Result<(), ShutdownError> {
        let tracer_provider = self.tracer_provider.clone();
        let meter_provider = self.meter_provider.clone();
        let timeout = self.shutdown_timeout;
        within(timeout, move || {
            let spans = tracer_provider.shutdown_with_timeout(timeout);
            let metrics = meter_provider.shutdown_with_timeout(timeout);
            spans.and(metrics).map_err(|e| e.to_string())
        })
    }
}

/// Runs `work` on its own thread and waits for it at most `timeout`; a thread still
/// busy then finishes in the background.
fn within(
    timeout: Duration,
    work: impl FnOnce() -> Result<(), String> + Send + 'static,
) -> Result<(), ShutdownError> {
    let (done, result) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("bulkhead-otlp-shutdown".into())
        .spawn(move || {
            let _ = done.send(work());
        })
        .map_err(|e| ShutdownError::Failed(format!("cannot start the shutdown thread: {e}")))?;
    match result.recv_timeout(timeout) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(message)) => Err(ShutdownError::Failed(message)),
        Err(_) => Err(ShutdownError::TimedOut(timeout)),
    }
}

impl Drop for OtlpGuard {
    fn drop(&mut self) {
        if !self.shut_down {
            self.shut_down = true;
            if let Err(e) = self.shutdown_inner() {
                tracing::warn!("OTLP shutdown: {e}");
            }
        }
    }
}

impl fmt::Debug for OtlpGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpGuard")
            .field("observer", &self.observer)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish_non_exhaustive()
    }
}

/// The OTLP pipeline could not be set up.
#[derive(Debug)]
pub struct SetupError {
    message: String,
    source: Option<opentelemetry_otlp::ExporterBuildError>,
}

impl SetupError {
    fn new(message: impl Into<String>) -> Self {
        SetupError {
            message: message.into(),
            source: None,
        }
    }

    fn exporter(source: opentelemetry_otlp::ExporterBuildError) -> Self {
        SetupError {
            message: "cannot build the OTLP exporter".into(),
            source: Some(source),
        }
    }
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for SetupError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

/// Shutting the OTLP pipeline down did not fully succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShutdownError {
    /// The last export did not finish within the shutdown timeout; what was buffered
    /// may be lost.
    TimedOut(Duration),
    /// A provider reported an error, such as a failed last export.
    Failed(String),
}

impl fmt::Display for ShutdownError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShutdownError::TimedOut(timeout) => {
                write!(f, "telemetry shutdown did not finish within {timeout:?}")
            }
            ShutdownError::Failed(message) => write!(f, "telemetry shutdown failed: {message}"),
        }
    }
}

impl Error for ShutdownError {}
