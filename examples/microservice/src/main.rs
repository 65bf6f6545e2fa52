//! Serves the example microservice; see the package README.
//!
//! ```text
//! bulkhead-example-microservice [--shared | --bulkhead]
//! ```
//!
//! Environment: `BULKHEAD_LISTEN` (default `127.0.0.1:3000`), `BULKHEAD_MODE`
//! (`bulkhead` or `shared`), `BULKHEAD_CONFIG` and `BULKHEAD_*` overrides of the
//! compartments, `DATABASE_URL`, `OTEL_EXPORTER_OTLP_ENDPOINT` and the other `OTEL_*`
//! variables.

use std::process::ExitCode;
use std::time::Duration;

use bulkhead::otlp::{OtlpConfig, OtlpGuard};
use bulkhead_example_microservice::{
    app, database_config, listen_addr, serve, shutdown_signal, App, Error, Mode, Options, Service,
    DATABASE_URL_ENV, LISTEN_ENV, MODE_ENV, OTLP_ENDPOINT_ENV,
};
use tokio::net::TcpListener;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// How long requests in flight may take to finish once shutdown has begun.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

const USAGE: &str = "\
usage: bulkhead-example-microservice [--shared | --bulkhead]

  --bulkhead  each API route in its own compartment (bulkhead.yaml; the default)
  --shared    all API routes in one compartment of the same size (shared.yaml)

environment:
  BULKHEAD_LISTEN              address to listen on (default 127.0.0.1:3000)
  BULKHEAD_MODE                bulkhead | shared, when no flag is given
  BULKHEAD_CONFIG              compartment files replacing the mode's file
  BULKHEAD_COMPARTMENTS__...   override one compartment setting
  DATABASE_URL                 PostgreSQL for the order routes
  OTEL_EXPORTER_OTLP_ENDPOINT  export traces and metrics over OTLP
";

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &[String]) -> Result<(), Error> {
    let mode = Mode::from_args_and_env(args, env(MODE_ENV).as_deref())?;
    let addr = listen_addr(env(LISTEN_ENV).as_deref())?;
    let database = database_config(env(DATABASE_URL_ENV).as_deref())?;
    let otlp = match env(OTLP_ENDPOINT_ENV) {
        Some(_) => Some(
            bulkhead::otlp::init(
                OtlpConfig::default().service_name("bulkhead-example-microservice"),
            )
            .map_err(|e| Error::with_source(format!("{OTLP_ENDPOINT_ENV} is set"), e))?,
        ),
        None => None,
    };
    tracing_subscriber::registry()
        .with(otlp.as_ref().map(OtlpGuard::layer))
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(LevelFilter::INFO)
        .init();

    let has_database = database.is_some();
    let options = Options::new(mode)
        .database(database)
        .otel(otlp.as_ref().map(|g| g.observer().clone()));
    let service = App::build(options).await?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| Error::with_source(format!("cannot listen on {addr} ({LISTEN_ENV})"), e))?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::with_source("cannot read the listening address", e))?;

    println!("listening on http://{local} ({mode} mode)");
    for service_kind in Service::ALL {
        println!(
            "  {:<24} compartment `{}`",
            service_kind.route(),
            service.compartment(service_kind).name()
        );
    }
    println!("  /health /metrics /bulkheads /admin/faults");
    println!(
        "  database: {}; OTLP export: {}",
        if has_database { "on" } else { "off" },
        if otlp.is_some() { "on" } else { "off" }
    );

    let (stopping, mut stopped) = tokio::sync::watch::channel(false);
    let server = serve(listener, app(&service), async move {
        shutdown_signal().await;
        tracing::info!("shutting down: letting the requests in flight finish");
        let _ = stopping.send(true);
    });
    let drain_deadline = async move {
        let _ = stopped.wait_for(|stopping| *stopping).await;
        tokio::time::sleep(DRAIN_TIMEOUT).await;
    };
    tokio::select! {
        served = server => served.map_err(|e| Error::with_source("the server failed", e))?,
        () = drain_deadline => tracing::warn!(
            "requests still in flight after {DRAIN_TIMEOUT:?}; stopping without them"
        ),
    }
    service.close();
    if let Some(otlp) = otlp {
        let flushed = tokio::task::spawn_blocking(move || otlp.shutdown()).await;
        match flushed {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("OTLP shutdown: {e}"),
            Err(e) => tracing::warn!("OTLP shutdown: {e}"),
        }
    }
    println!("stopped");
    Ok(())
}
