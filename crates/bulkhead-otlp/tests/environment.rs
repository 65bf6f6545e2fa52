//! The standard `OTEL_*` variables override the configuration in code.
//!
//! One test in its own binary: it sets process-wide environment variables.

mod support;

use bulkhead_core::names;
use bulkhead_otlp::{OtlpConfig, Protocol};
use bulkhead_semaphore::SemaphoreBulkhead;
use opentelemetry_sdk::trace::Sampler;
use tracing::Instrument as _;
use tracing_subscriber::layer::SubscriberExt as _;

#[cfg(feature = "grpc")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_service_name_and_sampler_come_from_otel_variables() {
    let (url, received) = support::grpc_receiver().await;
    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", &url);
    std::env::set_var("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc");
    std::env::set_var("OTEL_SERVICE_NAME", "from-env");
    std::env::set_var("OTEL_TRACES_SAMPLER", "always_off");

    let guard = bulkhead_otlp::init(
        OtlpConfig::default()
            .protocol(Protocol::HttpProtobuf)
            .endpoint(support::dead_collector())
            .service_name("from-code")
            .sampler(Sampler::AlwaysOn)
            .set_global(false),
    )
    .unwrap();
    let subscriber = tracing_subscriber::registry().with(guard.layer());
    let default = tracing::subscriber::set_default(subscriber);
    let db = SemaphoreBulkhead::builder("db")
        .observer(guard.observer().shared())
        .build()
        .unwrap();
    guard.observer().register(db.clone());
    db.execute(async {})
        .instrument(tracing::info_span!("request"))
        .await
        .unwrap();
    drop(default);
    tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap()
        .unwrap();

    assert!(
        received.spans().is_empty(),
        "sampled out by OTEL_TRACES_SAMPLER"
    );
    assert_eq!(
        received.last_number(names::ADMITTED_TOTAL, &[("bulkhead", "db")]),
        Some(1.0),
        "metrics go to OTEL_EXPORTER_OTLP_ENDPOINT over OTEL_EXPORTER_OTLP_PROTOCOL"
    );
    assert_eq!(received.metric_services(), ["from-env"]);

    // An unsupported protocol is refused, naming the variable.
    std::env::set_var("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json");
    let err = bulkhead_otlp::init(OtlpConfig::default().set_global(false)).unwrap_err();
    assert!(
        err.to_string().contains("OTEL_EXPORTER_OTLP_PROTOCOL"),
        "{err}"
    );
}
