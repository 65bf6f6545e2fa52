//! The order routes against a real PostgreSQL: reads through `db.read`, writes through
//! `db.write`. Needs `BULKHEAD_TEST_PG_URL` (set by `cargo xtask ci`); skips loudly
//! without it, and fails instead when `BULKHEAD_REQUIRE_PG=1`.

// The workspace's PostgreSQL test support: the server's URL, skipped loudly or
// required.
#[path = "../../../crates/bulkhead-pool/tests/support/mod.rs"]
mod pg;
mod support;

use axum::http::{Method, StatusCode};
use bulkhead_example_microservice::{database_config, Mode, Options, Service};
use support::{get, send, start_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_routes_write_through_the_write_pool_and_read_through_the_read_pool() {
    let Some(url) =
        pg::pg_url("order_routes_write_through_the_write_pool_and_read_through_the_read_pool")
    else {
        return;
    };
    let database = database_config(Some(&url)).unwrap();
    let (service, router) = start_with(Options::new(Mode::Bulkhead).database(database), &[]).await;
    let id = 1_000 + std::process::id() % 1_000_000;

    let placed = send(&router, Method::POST, &format!("/api/orders/{id}"), None).await;
    assert_eq!(placed.status, StatusCode::OK, "{placed:?}");
    let body = placed.json();
    assert_eq!(body["compartment"], "order-api");
    assert_eq!(body["database"]["pool"], "db.write");
    let placed_at = body["database"]["placed_at"].as_str().unwrap().to_owned();

    let read = get(&router, &format!("/api/orders/{id}")).await;
    assert_eq!(read.status, StatusCode::OK, "{read:?}");
    let body = read.json();
    assert_eq!(body["database"]["pool"], "db.read");
    assert_eq!(body["database"]["found"], true);
    assert_eq!(body["database"]["placed_at"], placed_at.as_str());

    let missing = get(&router, "/api/orders/4294967295").await.json();
    assert_eq!(missing["database"]["found"], false);

    let db = service.database().unwrap();
    assert_eq!(db.read_pool().stats().completed, 2);
    // One write at start-up (the table), one for the order.
    assert_eq!(db.write_pool().stats().completed, 2);
    assert_eq!(service.compartment(Service::Order).stats().completed, 3);

    let listed = get(&router, "/bulkheads").await.json();
    let names: Vec<&str> = listed["compartments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "order-api",
            "payment-api",
            "user-api",
            "db.read",
            "db.write"
        ]
    );
    let page = get(&router, "/metrics").await.text;
    for series in [
        r#"bulkhead_calls_total{bulkhead="db.read",outcome="ok"} 2"#,
        r#"bulkhead_call_duration_seconds_count{bulkhead="db.write"} 2"#,
    ] {
        assert!(page.contains(series), "missing `{series}` in:\n{page}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_stops_the_start_naming_the_variable() {
    // Nothing listens on port 1 of the loopback address.
    let database = database_config(Some("postgres://app@127.0.0.1:1/app")).unwrap();
    let options = Options::new(Mode::Bulkhead).database(database);
    let error = bulkhead_example_microservice::App::build(options)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("DATABASE_URL: cannot get a connection from `db.write`"),
        "{error}"
    );
}
