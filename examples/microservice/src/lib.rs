//! The guide's microservice: user, order and payment routes, each behind its own
//! compartment, with faults injected on demand to show what the compartments are for.
//!
//! - `GET /api/users/{id}`, `GET|POST /api/orders/{id}`, `GET /api/payments/{id}`:
//!   each calls its simulated downstream (and, for orders with `DATABASE_URL` set,
//!   PostgreSQL through the read or write pool) inside its compartment
//!   (`user-api`, `order-api`, `payment-api`). A refused call is answered
//!   `503 Service Unavailable` with `Retry-After`; a failing downstream `502`.
//! - `GET /health`: per-compartment utilisation and rejection rate from the health
//!   monitor; `503` when a compartment is saturated.
//! - `GET /metrics`: Prometheus exposition with the `bulkhead_*` series.
//! - `GET /bulkheads`: every compartment's stats as JSON.
//! - `POST /admin/faults` with `{"service":"payment","latency_ms":5000,"error_rate":0.0}`
//!   makes one downstream slow or failing; `DELETE /admin/faults` clears them all;
//!   `GET /admin/faults` lists them.
//!
//! The compartments are loaded through the registry from `bulkhead.yaml` (40/40/20
//! slots). In [`Mode::Shared`] the same routes all take their slot from one
//! compartment of the same total size (`shared.yaml`): nothing keeps a hanging
//! downstream from taking every slot. `cargo xtask demo` runs both and compares.
//!
//! # Example
//!
//! ```no_run
//! use bulkhead_example_microservice::{app, serve, App, Mode, Options};
//! use tokio::net::TcpListener;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let service = App::build(Options::new(Mode::Bulkhead)).await?;
//! let listener = TcpListener::bind("127.0.0.1:0").await?;
//! serve(listener, app(&service), async { /* a shutdown signal */ }).await?;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod app;
mod config;
mod downstream;
mod error;
mod routes;

use std::future::Future;
use std::io;

use axum::Router;
use tokio::net::TcpListener;

pub use app::{App, DATABASE_COMPARTMENT, ORDERS_TABLE};
pub use config::{
    database_config, listen_addr, Mode, Options, UnknownMode, DATABASE_URL_ENV, DEFAULT_LISTEN,
    LISTEN_ENV, MODE_ENV, OTLP_ENDPOINT_ENV,
};
pub use downstream::{
    DownstreamError, Downstreams, Fault, Service, UnknownService, MAX_FAULT_LATENCY,
};
pub use error::Error;
pub use routes::{app, stats_json};

/// Serves `app` on `listener` until `shutdown` completes, then lets the requests in
/// flight finish (axum's graceful shutdown) before returning.
pub async fn serve<F>(listener: TcpListener, app: Router, shutdown: F) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Completes on Ctrl-C (SIGINT), or on SIGTERM on Unix.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
