//! Against a real PostgreSQL server: `BULKHEAD_TEST_PG_URL` (`cargo xtask ci` starts a
//! throwaway cluster and sets it). Without it these tests skip, loudly, unless
//! `BULKHEAD_REQUIRE_PG=1`.
#![cfg(feature = "postgres")]

#[path = "../../bulkhead-pool/tests/support/mod.rs"]
mod support;
#[path = "../../bulkhead-pool/tests/shared/postgres.rs"]
#[macro_use]
mod shared;

use std::time::{Duration, Instant};

use bulkhead_deadpool::postgres::tokio_postgres::error::SqlState;
use bulkhead_deadpool::postgres::{
    DatabaseBulkhead, PgConnect, PgError, PgPool, PgPoolConfig, PostgresConfig,
};
use bulkhead_deadpool::{CallError, PoolError, PoolStatus, RejectReason, Rejected, TimeoutType};

/// deadpool reports no counters: the cut connections show only in the queries that
/// failed.
fn broken_connections_were_closed(_status: &PoolStatus, _failures: usize) {}

postgres_tests!();

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_fails_with_a_clear_connection_error_without_hanging() {
    // No server needed: nothing listens on the port.
    let port = support::closed_port();
    let config = PgPoolConfig {
        connection: PgConnect::host("127.0.0.1", port),
        connect_timeout: Duration::from_secs(2),
        ..PgPoolConfig::default()
    };
    let db = PgPool::postgres("down", &config, None).unwrap();

    for _ in 0..2 {
        let start = Instant::now();
        let error = db.get().await.unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(2), "no hang");
        match &error {
            CallError::Backend(PoolError::Backend(e)) => {
                assert!(e.to_string().contains("error connecting to server"), "{e}")
            }
            other => panic!("expected the connection error, got {other:?}"),
        }
        let chain = support::chain(&error);
        assert!(chain.contains("Connection refused"), "{chain}");
    }
    let stats = db.stats();
    assert_eq!(
        (stats.failed, stats.in_use, stats.rejected.total()),
        (2, 0, 0)
    );
    assert_eq!(db.status().size, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_times_out_within_the_connect_timeout() {
    let silent = support::silent_server().await;
    let config = PgPoolConfig {
        connection: PgConnect::host("127.0.0.1", silent.port()),
        connect_timeout: Duration::from_millis(500),
        ..PgPoolConfig::default()
    };
    let db = PgPool::postgres("silent", &config, None).unwrap();

    let start = Instant::now();
    let error = db.get().await.unwrap_err();
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(2),
        "gave up after {took:?}"
    );
    assert!(
        matches!(
            error,
            CallError::Backend(PoolError::Timeout(TimeoutType::Create))
        ),
        "{error:?}"
    );
    assert_eq!((db.stats().failed, db.stats().in_use), (1, 0));
}
