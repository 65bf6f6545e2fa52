//! The PostgreSQL kinds: loading, validation, reload, lookup and a query through the
//! pair. Loading and reloading need no server (pools connect lazily); the queries run
//! against `BULKHEAD_TEST_PG_URL` (`cargo xtask ci` starts a throwaway cluster and sets
//! it) and skip, loudly, without it, unless `BULKHEAD_REQUIRE_PG=1`.
#![cfg(all(feature = "postgres", feature = "deadpool"))]

#[path = "../../bulkhead-pool/tests/support/mod.rs"]
mod pg;
mod support;

use std::time::Duration;

use bulkhead_core::Compartment;
use bulkhead_deadpool::postgres::DatabaseBulkhead;
use bulkhead_registry::{Change, Origin, ProblemKind};
use support::{builder, problem_about, problems, TempDir};

/// A server nobody listens on: building must not need one.
fn offline_url() -> String {
    format!("postgres://app:s3cret@127.0.0.1:{}/app", pg::closed_port())
}

fn config(url: &str, read: usize, write: usize) -> String {
    format!(
        r#"
[compartments.db]
kind = "postgres"

[compartments.db.connection]
url = "{url}"

[compartments.db.read]
max_size = {read}
max_wait = "200ms"
statement_timeout = "2s"
read_only = true

[compartments.db.write]
max_size = {write}
"#
    )
}

fn rows(changes: &[Change]) -> Vec<(String, String, String)> {
    changes
        .iter()
        .map(|c| (c.key.clone(), c.from.clone(), c.to.clone()))
        .collect()
}

fn row(key: &str, from: &str, to: &str) -> (String, String, String) {
    (key.into(), from.into(), to.into())
}

#[tokio::test]
async fn a_postgres_compartment_loads_without_a_server_and_is_looked_up_as_its_pair() {
    let dir = TempDir::new("pg-load");
    let path = dir.write("bulkhead.toml", &config(&offline_url(), 16, 4));
    let registry = builder(
        &[&path],
        &[("BULKHEAD_COMPARTMENTS__DB__WRITE__MAX_WAIT", "50ms")],
    )
    .build()
    .unwrap();

    let db = registry.get::<DatabaseBulkhead>("db").unwrap();
    assert_eq!((db.name(), db.kind()), ("db", "postgres"));
    assert_eq!(db.read_pool().name(), "db.read");
    assert_eq!(db.read_pool().status().max_size, 16);
    assert_eq!(db.write_pool().config().max_wait, Duration::from_millis(50));
    assert_eq!(
        db.config().read.statement_timeout,
        Some(Duration::from_secs(2))
    );
    // As one compartment, the pair adds up both pools.
    let view = registry.compartment("db").unwrap();
    assert_eq!((view.kind(), view.stats().capacity), ("postgres", 20));

    let settings = registry.settings("db").unwrap();
    let value = |key: &str| {
        settings
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no setting {key} in {settings:?}"))
    };
    assert_eq!(value("read.max_size"), "16");
    assert_eq!(value("write.max_wait"), "\"50ms\"");
    assert_eq!(value("read.recycling"), "\"fast\"");
    let url = value("connection.url");
    assert!(
        url.contains("app:<hidden>@127.0.0.1") && !url.contains("s3cret"),
        "{url}"
    );
}

#[test]
fn invalid_postgres_compartments_name_the_compartment_the_key_and_the_source() {
    let dir = TempDir::new("pg-invalid");
    let path = dir.write(
        "bulkhead.toml",
        r#"
[compartments.db]
kind = "postgres"

[compartments.db.connection]
url = "postgres://db:notaport/app"

[compartments.db.read]
max_size = 0
max_sise = 3

[compartments.db.write]
connect_timeout = "0s"
"#,
    );
    let var = "BULKHEAD_COMPARTMENTS__DB__WRITE__MAX_WAIT";
    let found = problems(builder(&[&path], &[(var, "soon")]).build());

    let at = |line| {
        Some(Origin::File {
            path: path.clone(),
            line: Some(line),
        })
    };
    assert_eq!(found.len(), 5, "{found:#?}");

    let unknown = problem_about(&found, Some("db"), "read.max_sise");
    assert_eq!(unknown.kind(), ProblemKind::UnknownKey);
    assert_eq!(unknown.origin(), at(10).as_ref());
    assert!(unknown.message().contains("`max_size`"), "{unknown}");

    let url = problem_about(&found, Some("db"), "connection.url");
    assert_eq!(url.origin(), at(6).as_ref());
    assert!(
        url.message()
            .starts_with("is not a valid PostgreSQL URL or key/value string"),
        "{url}"
    );

    let size = problem_about(&found, Some("db"), "read.max_size");
    assert_eq!(size.kind(), ProblemKind::InvalidValue);
    assert_eq!(
        size.to_string(),
        format!(
            "{}:9: compartment `db`: `read.max_size` must be at least 1 (got 0)",
            path.display()
        )
    );

    let timeout = problem_about(&found, Some("db"), "write.connect_timeout");
    assert_eq!(timeout.origin(), at(13).as_ref());

    let wait = problem_about(&found, Some("db"), "write.max_wait");
    assert_eq!(wait.origin().and_then(Origin::env_var), Some(var));
    assert!(wait.message().starts_with("is not a duration"), "{wait}");
}

#[test]
fn a_postgres_compartment_without_a_server_is_refused() {
    let dir = TempDir::new("pg-no-server");
    let path = dir.write(
        "bulkhead.yaml",
        "compartments:\n  db:\n    kind: postgres\n    write:\n      max_size: 2\n",
    );
    let found = problems(builder(&[&path], &[]).build());
    let keys: Vec<_> = found.iter().map(|p| (p.compartment(), p.key())).collect();
    assert_eq!(
        keys,
        [
            (Some("db"), Some("read.connection.url")),
            (Some("db"), Some("write.connection.url"))
        ],
        "{found:#?}"
    );
    assert!(
        found[0].message().contains("give the server to connect to"),
        "{}",
        found[0]
    );
}

#[test]
fn defaults_for_the_postgres_kind_are_inherited() {
    let dir = TempDir::new("pg-defaults");
    let path = dir.write(
        "bulkhead.toml",
        &format!(
            "[defaults.postgres.connection]\nurl = \"{}\"\n\n[defaults.postgres.read]\nmax_size = 7\n\n\
             [compartments.db]\nkind = \"postgres\"\n",
            offline_url()
        ),
    );
    let resolved = builder(&[&path], &[]).validate().unwrap();
    let db = resolved.get("db").unwrap();
    let size = db.setting("read.max_size").unwrap();
    assert_eq!(size.value(), "7");
    assert!(size.inherited());
    assert_eq!(
        size.origin(),
        &Origin::File {
            path: path.clone(),
            line: Some(5)
        }
    );
    assert_eq!(
        db.setting("write.max_size").unwrap().origin(),
        &Origin::Default
    );
}

#[tokio::test]
async fn reload_resizes_the_pools_live_and_reports_connection_changes_as_needing_a_restart() {
    let dir = TempDir::new("pg-reload");
    let url = offline_url();
    let path = dir.write("bulkhead.toml", &config(&url, 2, 2));
    let registry = builder(&[&path], &[]).build().unwrap();
    let db = registry.get::<DatabaseBulkhead>("db").unwrap();

    let moved = offline_url();
    dir.write(
        "bulkhead.toml",
        &config(&moved, 5, 1).replace("max_wait = \"200ms\"", "max_wait = \"1s\""),
    );
    let report = registry.reload().unwrap();
    assert_eq!(
        rows(&report.applied),
        [
            row("read.max_size", "2", "5"),
            row("read.max_wait", "\"200ms\"", "\"1s\""),
            row("write.max_size", "2", "1"),
        ]
    );
    let hidden = |url: &str| format!("{:?}", url.replace("s3cret", "<hidden>"));
    assert_eq!(
        rows(&report.restart_required),
        [row("connection.url", &hidden(&url), &hidden(&moved))]
    );
    // The handle taken before the reload sees the new sizes and waits.
    assert_eq!(db.read_pool().status().max_size, 5);
    assert_eq!(db.read_pool().stats().target_capacity, 5);
    assert_eq!(db.write_pool().status().max_size, 1);
    assert_eq!(db.read_pool().config().max_wait, Duration::from_secs(1));
    assert_eq!(db.config().connection.url.as_deref(), Some(url.as_str()));
    assert_eq!(registry.compartment("db").unwrap().stats().capacity, 6);

    // What needs a restart stays pending, and is reported again.
    let again = registry.reload().unwrap();
    assert!(again.applied.is_empty(), "{again}");
    assert_eq!(again.restart_required.len(), 1, "{again}");
}

/// A file with one pair of `kind` connecting to `url`.
fn pair_at(dir: &TempDir, kind: &str, url: &str) -> std::path::PathBuf {
    dir.write(
        "bulkhead.toml",
        &format!(
            "[compartments.db]\nkind = \"{kind}\"\nconnection.url = \"{url}\"\n\
             read.max_size = 2\nread.read_only = true\nwrite.max_size = 1\n"
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_runs_through_the_looked_up_pair() {
    let Some(url) = pg::pg_url("a_query_runs_through_the_looked_up_pair") else {
        return;
    };
    let dir = TempDir::new("pg-query");
    let registry = builder(&[pair_at(&dir, "postgres", &url)], &[])
        .build()
        .unwrap();
    let db = registry.get::<DatabaseBulkhead>("db").unwrap();

    let reader = db.read().await.unwrap();
    let row = reader
        .query_one(
            "SELECT 40 + $1::int, current_setting('application_name')",
            &[&2i32],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, i32>(0), row.get::<_, String>(1)),
        (42, "db.read".to_owned())
    );
    drop(reader);
    let writer = db.write().await.unwrap();
    writer.simple_query("SELECT 1").await.unwrap();
    drop(writer);

    let stats = registry.compartment("db").unwrap().stats();
    assert_eq!((stats.admitted, stats.completed, stats.in_use), (2, 2, 0));
    // Both pools' connections, as the telemetry reads them.
    let mut figures = Vec::new();
    registry
        .compartment("db")
        .unwrap()
        .report_figures(&mut |name, value| figures.push((name, value)));
    assert_eq!(
        figures,
        [("bulkhead_pool_size", 2.0), ("bulkhead_pool_idle", 2.0)]
    );
}

#[cfg(feature = "bb8")]
mod bb8 {
    use super::*;
    use bulkhead_bb8::postgres::DatabaseBulkhead as Bb8Database;

    #[test]
    fn a_bb8_pair_outside_a_tokio_runtime_is_refused_not_a_panic() {
        let dir = TempDir::new("pg-bb8-runtime");
        let found =
            problems(builder(&[pair_at(&dir, "bb8-postgres", &offline_url())], &[]).build());
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].kind(), ProblemKind::Build);
        assert!(
            found[0].to_string().starts_with(
                "compartment `db`: could not be built: kind `bb8-postgres` must be built inside a tokio runtime"
            ),
            "{}",
            found[0]
        );
    }

    #[tokio::test]
    async fn a_bb8_pair_changes_its_waits_live_and_its_sizes_need_a_restart() {
        let dir = TempDir::new("pg-bb8-reload");
        let url = offline_url();
        let path = dir.write(
            "bulkhead.toml",
            &config(&url, 2, 2).replace("\"postgres\"", "\"bb8-postgres\""),
        );
        let registry = builder(&[&path], &[]).build().unwrap();
        let db = registry.get::<Bb8Database>("db").unwrap();
        assert_eq!(registry.compartment("db").unwrap().kind(), "bb8-postgres");

        dir.write(
            "bulkhead.toml",
            &config(&url, 3, 2)
                .replace("\"postgres\"", "\"bb8-postgres\"")
                .replace("max_wait = \"200ms\"", "max_wait = \"1s\""),
        );
        let report = registry.reload().unwrap();
        assert_eq!(
            rows(&report.applied),
            [row("read.max_wait", "\"200ms\"", "\"1s\"")]
        );
        assert_eq!(
            rows(&report.restart_required),
            [row("read.max_size", "2", "3")]
        );
        assert_eq!(db.read_pool().config().max_wait, Duration::from_secs(1));
        assert_eq!(db.read_pool().stats().capacity, 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_query_runs_through_the_looked_up_bb8_pair() {
        let Some(url) = pg::pg_url("a_query_runs_through_the_looked_up_bb8_pair") else {
            return;
        };
        let dir = TempDir::new("pg-bb8-query");
        let registry = builder(&[pair_at(&dir, "bb8-postgres", &url)], &[])
            .build()
            .unwrap();
        let db = registry.get::<Bb8Database>("db").unwrap();
        let writer = db.write().await.unwrap();
        let row = writer.query_one("SELECT 6 * 7", &[]).await.unwrap();
        assert_eq!(row.get::<_, i32>(0), 42);
    }
}

/// Telemetry attached to the registry follows each pool of a pair on its own.
#[cfg(feature = "metrics")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attached_metrics_follow_each_pool_of_the_pair() {
    use bulkhead_metrics::{prometheus, BulkheadMetrics};

    let Some(url) = pg::pg_url("attached_metrics_follow_each_pool_of_the_pair") else {
        return;
    };
    let recorder = prometheus::builder().build_recorder();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);
    let dir = TempDir::new("pg-metrics");
    let file = pair_at(&dir, "postgres", &url);
    let metrics = BulkheadMetrics::new();
    let registry = builder(&[&file], &[])
        .attach(metrics.clone())
        .build()
        .unwrap();
    assert_eq!(metrics.names(), ["db.read", "db.write"]);

    let db = registry.get::<DatabaseBulkhead>("db").unwrap();
    for _ in 0..2 {
        db.read()
            .await
            .unwrap()
            .simple_query("SELECT 1")
            .await
            .unwrap();
    }
    db.write()
        .await
        .unwrap()
        .simple_query("SELECT 1")
        .await
        .unwrap();

    let page = prometheus::render(&metrics, &handle);
    let count = |series: &str| {
        page.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("{series} missing:\n{page}"))
            .trim()
            .parse::<f64>()
            .unwrap()
    };
    assert_eq!(
        count(r#"bulkhead_call_duration_seconds_count{bulkhead="db.read"}"#),
        2.0
    );
    assert_eq!(
        count(r#"bulkhead_call_duration_seconds_count{bulkhead="db.write"}"#),
        1.0
    );
    assert_eq!(
        count(r#"bulkhead_target_capacity{bulkhead="db.read"}"#),
        2.0
    );
    assert_eq!(count(r#"bulkhead_pool_size{bulkhead="db.write"}"#), 1.0);

    // Removing the pair stops publishing both pools.
    dir.write("bulkhead.toml", "");
    registry.reload().unwrap();
    assert!(metrics.names().is_empty(), "{:?}", metrics.names());
}
