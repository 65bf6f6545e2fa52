//! The HTTP routes.

use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use bulkhead::Stats;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tracing::Instrument as _;

use crate::app::{App, ORDERS_TABLE};
use crate::downstream::{Fault, Service, MAX_FAULT_LATENCY};
use crate::error::ApiError;

/// The service's routes:
///
/// - `GET /api/users/{id}`, `GET /api/orders/{id}`, `POST /api/orders/{id}`,
///   `GET /api/payments/{id}`: the simulated downstream call (and, for orders, the
///   database query) runs inside the route's compartment; a refusal is `503` with
///   `Retry-After`, a failing downstream `502`.
/// - `GET /health`: the health monitor's last report, `503` when a compartment is
///   saturated.
/// - `GET /metrics`: the Prometheus exposition.
/// - `GET /bulkheads`: every compartment's stats as JSON.
/// - `GET`, `POST`, `DELETE /admin/faults`: list, set and clear downstream faults.
pub fn app(app: &App) -> Router {
    Router::new()
        .route(Service::User.route(), get(get_user))
        .route(Service::Order.route(), get(get_order).post(place_order))
        .route(Service::Payment.route(), get(process_payment))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/bulkheads", get(bulkheads))
        .route(
            "/admin/faults",
            get(list_faults).post(set_fault).delete(clear_faults),
        )
        .with_state(app.clone())
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn answer(app: &App, service: Service, id: u32, took: Duration) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("id".into(), id.into());
    body.insert("service".into(), service.as_str().into());
    body.insert("compartment".into(), app.compartment(service).name().into());
    body.insert("downstream_ms".into(), millis(took).into());
    body
}

async fn get_user(State(app): State<App>, Path(id): Path<u32>) -> Result<Json<Value>, ApiError> {
    let span = tracing::info_span!("get_user", id);
    let (took, ()) = app
        .guarded(Service::User, async { Ok(()) })
        .instrument(span)
        .await?;
    let mut body = answer(&app, Service::User, id, took);
    body.insert("name".into(), format!("user-{id}").into());
    Ok(Json(body.into()))
}

async fn get_order(State(app): State<App>, Path(id): Path<u32>) -> Result<Json<Value>, ApiError> {
    let span = tracing::info_span!("get_order", id);
    let (took, database) = app
        .guarded(Service::Order, read_order(&app, id))
        .instrument(span)
        .await?;
    let mut body = answer(&app, Service::Order, id, took);
    body.insert("database".into(), database);
    Ok(Json(body.into()))
}

async fn place_order(State(app): State<App>, Path(id): Path<u32>) -> Result<Json<Value>, ApiError> {
    let span = tracing::info_span!("place_order", id);
    let (took, database) = app
        .guarded(Service::Order, write_order(&app, id))
        .instrument(span)
        .await?;
    let mut body = answer(&app, Service::Order, id, took);
    body.insert("database".into(), database);
    Ok(Json(body.into()))
}

async fn process_payment(
    State(app): State<App>,
    Path(id): Path<u32>,
) -> Result<Json<Value>, ApiError> {
    let span = tracing::info_span!("process_payment", id);
    let (took, ()) = app
        .guarded(Service::Payment, async { Ok(()) })
        .instrument(span)
        .await?;
    let mut body = answer(&app, Service::Payment, id, took);
    body.insert("status".into(), "approved".into());
    Ok(Json(body.into()))
}

fn database_error(pool: &str, error: impl std::fmt::Display) -> ApiError {
    ApiError::Database(format!("`{pool}`: {error}"))
}

/// Reads the order through the read pool: `null` without a database.
async fn read_order(app: &App, id: u32) -> Result<Value, ApiError> {
    let Some(db) = app.database() else {
        return Ok(Value::Null);
    };
    let pool = db.read_pool().name().to_owned();
    let mut client = db.read().await.map_err(|e| match e {
        bulkhead::CallError::Rejected(r) => ApiError::Rejected(r),
        bulkhead::CallError::Backend(e) => database_error(&pool, e),
    })?;
    let rows = client
        .query(
            &format!("SELECT placed_at::text FROM {ORDERS_TABLE} WHERE id = $1"),
            &[&i64::from(id)],
        )
        .await;
    client.record(&rows);
    let rows = rows.map_err(|e| database_error(&pool, e))?;
    let placed_at: Option<String> = rows.first().map(|row| row.get(0));
    Ok(json!({ "pool": pool, "found": placed_at.is_some(), "placed_at": placed_at }))
}

/// Stores the order through the write pool: `null` without a database.
async fn write_order(app: &App, id: u32) -> Result<Value, ApiError> {
    let Some(db) = app.database() else {
        return Ok(Value::Null);
    };
    let pool = db.write_pool().name().to_owned();
    let mut client = db.write().await.map_err(|e| match e {
        bulkhead::CallError::Rejected(r) => ApiError::Rejected(r),
        bulkhead::CallError::Backend(e) => database_error(&pool, e),
    })?;
    let row = client
        .query_one(
            &format!(
                "INSERT INTO {ORDERS_TABLE} (id) VALUES ($1) \
                 ON CONFLICT (id) DO UPDATE SET placed_at = now() \
                 RETURNING placed_at::text"
            ),
            &[&i64::from(id)],
        )
        .await;
    client.record(&row);
    let placed_at: String = row.map_err(|e| database_error(&pool, e))?.get(0);
    Ok(json!({ "pool": pool, "placed_at": placed_at }))
}

async fn health(State(app): State<App>) -> Response {
    let report = app.health().report();
    let status =
        StatusCode::from_u16(report.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut body =
        serde_json::to_value(&*report).unwrap_or_else(|e| json!({ "error": e.to_string() }));
    body["mode"] = app.mode().as_str().into();
    (status, Json(body)).into_response()
}

async fn metrics(State(app): State<App>) -> Response {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        app.render_metrics(),
    )
        .into_response()
}

async fn bulkheads(State(app): State<App>) -> Json<Value> {
    let routes: Map<String, Value> = Service::ALL
        .into_iter()
        .map(|s| (s.route().to_owned(), app.compartment(s).name().into()))
        .collect();
    let compartments: Vec<Value> = app
        .compartments()
        .iter()
        .map(|c| stats_json(c.name(), c.kind(), &c.stats()))
        .collect();
    Json(json!({
        "mode": app.mode().as_str(),
        "routes": routes,
        "compartments": compartments,
    }))
}

/// One compartment's stats as JSON, as `/bulkheads` lists them.
pub fn stats_json(name: &str, kind: &str, stats: &Stats) -> Value {
    let mut json = serde_json::to_value(stats).expect("stats serialize to JSON");
    json["name"] = Value::from(name);
    json["kind"] = Value::from(kind);
    json
}

/// The body of `POST /admin/faults`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRequest {
    service: String,
    #[serde(default)]
    latency_ms: Option<u64>,
    #[serde(default)]
    error_rate: Option<f64>,
}

fn invalid(field: &str, message: String) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({ "error": message, "field": field })),
    )
        .into_response()
}

fn faults_json(app: &App) -> Value {
    let faults: Vec<Value> = app
        .downstreams()
        .faults()
        .into_iter()
        .map(|(service, fault)| {
            let mut fault = serde_json::to_value(fault).unwrap_or(Value::Null);
            fault["service"] = service.as_str().into();
            fault
        })
        .collect();
    json!({ "faults": faults })
}

async fn list_faults(State(app): State<App>) -> Json<Value> {
    Json(faults_json(&app))
}

async fn set_fault(
    State(app): State<App>,
    body: Result<Json<FaultRequest>, JsonRejection>,
) -> Response {
    let request = match body {
        Ok(Json(request)) => request,
        Err(rejection) => {
            return (
                rejection.status(),
                Json(json!({ "error": rejection.body_text() })),
            )
                .into_response()
        }
    };
    let service: Service = match request.service.parse() {
        Ok(service) => service,
        Err(e) => return invalid("service", format!("`service`: {e}")),
    };
    let error_rate = request.error_rate.unwrap_or(0.0);
    if !(0.0..=1.0).contains(&error_rate) {
        return invalid(
            "error_rate",
            format!("`error_rate` must be within 0..=1 (got {error_rate})"),
        );
    }
    let latency = request.latency_ms.map(Duration::from_millis);
    if let Some(latency) = latency.filter(|l| *l > MAX_FAULT_LATENCY) {
        return invalid(
            "latency_ms",
            format!(
                "`latency_ms` must be at most {} (got {})",
                millis(MAX_FAULT_LATENCY),
                millis(latency)
            ),
        );
    }
    if latency.is_none() && request.error_rate.is_none() {
        return invalid(
            "latency_ms",
            "give `latency_ms`, `error_rate` or both: a fault with neither changes nothing"
                .to_owned(),
        );
    }
    let fault = Fault {
        latency,
        error_rate,
    };
    tracing::warn!(
        service = service.as_str(),
        latency_ms = request.latency_ms,
        error_rate,
        "fault injected into the {service} downstream"
    );
    app.downstreams().set_fault(service, fault);
    Json(faults_json(&app)).into_response()
}

async fn clear_faults(State(app): State<App>) -> Json<Value> {
    let cleared = app.downstreams().clear_faults();
    tracing::info!(cleared, "faults cleared");
    let mut body = faults_json(&app);
    body["cleared"] = cleared.into();
    Json(body)
}
