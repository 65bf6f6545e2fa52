//! An axum app with two routes, each behind its own compartment.
//!
//! - `GET /fast` answers from the `catalog` compartment at once.
//! - `GET /slow?ms=500` simulates a slow downstream behind the `reports` compartment,
//!   which has few slots and does not let callers wait: once they are taken, further
//!   report requests get `503 Service Unavailable` with `Retry-After`, and `/fast`
//!   keeps answering.
//! - `GET /bulkheads` shows each compartment's stats as JSON.
//!
//! The binary serves [`app`] on `BULKHEAD_LISTEN` (default `127.0.0.1:3000`) until
//! Ctrl-C or SIGTERM, letting requests in flight finish.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::future::Future;
use std::io;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use bulkhead::tower::HttpBulkheadLayer;
use bulkhead::{Compartment, ConfigError, SemaphoreBulkhead, SemaphoreConfig, Stats};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// Where the binary listens unless `BULKHEAD_LISTEN` says otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";

/// How long `/slow` takes without `?ms=`.
pub const DEFAULT_SLOW_MS: u64 = 500;

/// The longest `/slow` may be asked to take.
pub const MAX_SLOW_MS: u64 = 30_000;

/// The two compartments of the app. Handles are cheap to clone and share the
/// compartments.
#[derive(Debug, Clone)]
pub struct Compartments {
    /// Guards `/fast`.
    pub catalog: SemaphoreBulkhead,
    /// Guards `/slow`.
    pub reports: SemaphoreBulkhead,
}

impl Compartments {
    /// The demo's compartments: `catalog` with 64 slots, `reports` with 4; neither
    /// lets callers wait, and both suggest retrying after a second.
    pub fn new() -> Result<Self, ConfigError> {
        let retry = Some(Duration::from_secs(1));
        Self::with_configs(
            SemaphoreConfig::new(64).retry_after(retry),
            SemaphoreConfig::new(4).retry_after(retry),
        )
    }

    /// Compartments with the given configurations.
    pub fn with_configs(
        catalog: SemaphoreConfig,
        reports: SemaphoreConfig,
    ) -> Result<Self, ConfigError> {
        Ok(Compartments {
            catalog: SemaphoreBulkhead::new("catalog", catalog)?,
            reports: SemaphoreBulkhead::new("reports", reports)?,
        })
    }

    fn all(&self) -> [&SemaphoreBulkhead; 2] {
        [&self.catalog, &self.reports]
    }
}

/// The app: `/fast` behind `catalog`, `/slow` behind `reports`, and `/bulkheads`.
pub fn app(compartments: &Compartments) -> Router {
    Router::new()
        .route(
            "/fast",
            get(fast).layer(HttpBulkheadLayer::new(compartments.catalog.clone())),
        )
        .route(
            "/slow",
            get(slow).layer(HttpBulkheadLayer::new(compartments.reports.clone())),
        )
        .route("/bulkheads", get(bulkheads))
        .with_state(compartments.clone())
}

/// Serves `app` on `listener` until `shutdown` completes, then waits for the requests
/// in flight to finish.
pub async fn serve<F>(listener: TcpListener, app: Router, shutdown: F) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Completes on Ctrl-C, or on SIGTERM on Unix.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            eprintln!("cannot listen for Ctrl-C: {e}");
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
                eprintln!("cannot listen for SIGTERM: {e}");
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

async fn fast() -> Json<Value> {
    Json(json!({ "compartment": "catalog", "items": ["anchor", "hull", "keel"] }))
}

#[derive(Debug, Deserialize)]
struct SlowParams {
    ms: Option<u64>,
}

async fn slow(Query(params): Query<SlowParams>) -> Json<Value> {
    let ms = params.ms.unwrap_or(DEFAULT_SLOW_MS).min(MAX_SLOW_MS);
    // The slow downstream: a report that takes `ms` to build.
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Json(json!({ "compartment": "reports", "took_ms": ms }))
}

async fn bulkheads(State(compartments): State<Compartments>) -> Json<Value> {
    let all = compartments
        .all()
        .into_iter()
        .map(|c| stats_json(c.name(), c.kind(), &c.stats()))
        .collect();
    Json(Value::Array(all))
}

fn stats_json(name: &str, kind: &str, stats: &Stats) -> Value {
    let mut json = serde_json::to_value(stats).expect("stats serialize to JSON");
    json["name"] = Value::from(name);
    json["kind"] = Value::from(kind);
    json
}
