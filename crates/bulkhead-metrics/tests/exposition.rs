//! The Prometheus exposition of compartments of every kind together.

mod support;

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use bulkhead_bb8::postgres::DatabaseBulkhead as Bb8Database;
use bulkhead_core::names;
use bulkhead_deadpool::postgres::{DatabaseBulkhead as DeadpoolDatabase, PostgresConfig};
use bulkhead_metrics::{prometheus, BulkheadMetrics, HealthConfig, HealthMonitor};
use bulkhead_runtime::{RuntimeBulkhead, RuntimeConfig};
use bulkhead_semaphore::{Outcome, OwnedSemaphorePermit, SemaphoreBulkhead};
use support::{assert_success, promtool, run_promtool, samples, stats, value, Scripted};

/// The real compartments of every kind besides the semaphore, kept alive with the page:
/// a dedicated runtime and PostgreSQL read/write pairs over deadpool and bb8 (their pools
/// open connections lazily, so no server is needed), each reporting its own figures.
struct RealKinds {
    _runtime: RuntimeBulkhead,
    _deadpool: DeadpoolDatabase,
    _bb8: Bb8Database,
    _tokio: tokio::runtime::Runtime,
}

fn register_real_kinds(metrics: &BulkheadMetrics) -> RealKinds {
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _entered = tokio.enter();
    let runtime = RuntimeBulkhead::new("cpu", RuntimeConfig::default().worker_threads(1)).unwrap();
    let pg: PostgresConfig = toml::from_str(
        r#"
        [connection]
        url = "postgres://app@127.0.0.1:1/app"
        [read]
        max_size = 4
        [write]
        max_size = 2
        "#,
    )
    .unwrap();
    let deadpool = DeadpoolDatabase::new("orders_db", &pg).unwrap();
    let bb8 = Bb8Database::new("users_db", &pg).unwrap();
    metrics.register(runtime.clone()).unwrap();
    metrics.register(deadpool.clone()).unwrap();
    metrics.register(bb8.clone()).unwrap();
    drop(_entered);
    RealKinds {
        _runtime: runtime,
        _deadpool: deadpool,
        _bb8: bb8,
        _tokio: tokio,
    }
}

/// A page with a semaphore, a runtime, deadpool and bb8 compartments (scripted ones
/// with exact figures, and real ones), each with some traffic, and the health
/// monitor's gauges.
fn page_of_every_kind() -> (String, SemaphoreBulkhead, Vec<OwnedSemaphorePermit>) {
    let recorder = prometheus::builder().build_recorder();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);

    let metrics = BulkheadMetrics::new();
    let orders = SemaphoreBulkhead::builder("orders")
        .max_concurrent(2)
        .observer(metrics.observer("orders"))
        .build()
        .unwrap();
    metrics.register(orders.clone()).unwrap();

    let reports = Scripted::new("reports", "runtime", stats(4, 3, 10, 2));
    let figures = |report: &mut dyn FnMut(&'static str, f64)| {
        report(names::RUNTIME_BUSY_RATIO, 0.75);
        report(names::RUNTIME_QUEUE_DEPTH, 5.0);
    };
    metrics.register_with(reports, figures).unwrap();
    for (name, kind) in [("db_read", "deadpool"), ("db_write", "bb8")] {
        let pool = Scripted::new(name, kind, stats(8, 2, 40, 0));
        let figures = |report: &mut dyn FnMut(&'static str, f64)| {
            report(names::POOL_SIZE, 6.0);
            report(names::POOL_IDLE, 4.0);
        };
        metrics.register_with(pool, figures).unwrap();
    }
    let _real = register_real_kinds(&metrics);
    let monitor = HealthMonitor::new(&metrics, HealthConfig::default()).unwrap();

    // orders: two calls, one failed, then a refusal while both slots are held.
    drop(orders.try_acquire().unwrap());
    let mut failed = orders.try_acquire().unwrap();
    failed.set_outcome(Outcome::Error);
    drop(failed);
    let held = vec![
        orders.try_acquire_owned().unwrap(),
        orders.try_acquire_owned().unwrap(),
    ];
    assert!(orders.try_acquire().is_err());
    monitor.end_interval();

    (prometheus::render(&metrics, &handle), orders, held)
}

#[test]
fn the_exposition_of_every_kind_passes_promtool_check_metrics() {
    let (page, _orders, _held) = page_of_every_kind();
    let Some(_) = promtool() else { return };
    let output = run_promtool(&["check", "metrics"], Some(&page), None);
    assert_success("promtool check metrics", &output);
    // promtool prints lint findings even when it exits 0 on some versions.
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        said.trim().is_empty(),
        "promtool check metrics found:\n{said}\n{page}"
    );
}

#[test]
fn the_exposition_has_no_duplicate_series_and_one_help_and_type_per_family() {
    let (page, _orders, _held) = page_of_every_kind();
    let mut seen = HashSet::new();
    for (series, _) in samples(&page) {
        assert!(
            seen.insert(series.clone()),
            "duplicate series {series}\n{page}"
        );
    }
    for prefix in ["# HELP ", "# TYPE "] {
        let mut families = HashSet::new();
        for line in page.lines().filter(|l| l.starts_with(prefix)) {
            let family = line[prefix.len()..].split(' ').next().unwrap().to_owned();
            assert!(
                families.insert(family.clone()),
                "two `{prefix}` lines for {family}"
            );
        }
    }
}

#[test]
fn every_metric_name_is_published_and_every_published_name_is_a_core_constant() {
    let (page, _orders, _held) = page_of_every_kind();
    let published: BTreeSet<String> = samples(&page)
        .into_iter()
        .map(|(series, _)| {
            let name = series.split('{').next().unwrap();
            ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| {
                    let base = name.strip_suffix(suffix)?;
                    names::ALL_METRICS.contains(&base).then(|| base.to_owned())
                })
                .unwrap_or_else(|| name.to_owned())
        })
        .collect();
    let defined: BTreeSet<String> = names::ALL_METRICS.iter().map(|s| s.to_string()).collect();
    assert_eq!(published, defined);
}

#[test]
fn published_values_are_the_stats_of_each_compartment() {
    let (page, orders, _held) = page_of_every_kind();
    let s = orders.stats();
    let v = |series: &str| value(&page, series).unwrap_or_else(|| panic!("no {series}\n{page}"));
    assert_eq!(
        v(r#"bulkhead_admitted_total{bulkhead="orders"}"#),
        s.admitted as f64
    );
    assert_eq!(v(r#"bulkhead_admitted_total{bulkhead="orders"}"#), 4.0);
    assert_eq!(
        v(r#"bulkhead_rejections_total{bulkhead="orders",reason="full"}"#),
        1.0
    );
    assert_eq!(
        v(r#"bulkhead_rejections_total{bulkhead="orders",reason="timeout"}"#),
        0.0
    );
    assert_eq!(
        v(r#"bulkhead_calls_total{bulkhead="orders",outcome="ok"}"#),
        1.0
    );
    assert_eq!(
        v(r#"bulkhead_calls_total{bulkhead="orders",outcome="error"}"#),
        1.0
    );
    assert_eq!(v(r#"bulkhead_active_tasks{bulkhead="orders"}"#), 2.0);
    assert_eq!(v(r#"bulkhead_available_permits{bulkhead="orders"}"#), 0.0);
    assert_eq!(v(r#"bulkhead_capacity{bulkhead="orders"}"#), 2.0);
    assert_eq!(v(r#"bulkhead_utilization{bulkhead="orders"}"#), 1.0);
    assert_eq!(v(r#"bulkhead_rejection_rate{bulkhead="orders"}"#), 0.2);
    // Per call: one wait per admission, one hold per release.
    assert_eq!(
        v(r#"bulkhead_wait_duration_seconds_count{bulkhead="orders"}"#),
        4.0
    );
    assert_eq!(
        v(r#"bulkhead_call_duration_seconds_count{bulkhead="orders"}"#),
        2.0
    );
    assert_eq!(
        v(r#"bulkhead_wait_duration_seconds_bucket{bulkhead="orders",le="+Inf"}"#),
        4.0
    );
    // Kind figures.
    assert_eq!(
        v(r#"bulkhead_runtime_busy_ratio{bulkhead="reports"}"#),
        0.75
    );
    assert_eq!(
        v(r#"bulkhead_runtime_queue_depth{bulkhead="reports"}"#),
        5.0
    );
    assert_eq!(v(r#"bulkhead_active_tasks{bulkhead="reports"}"#), 3.0);
    assert_eq!(
        v(r#"bulkhead_rejections_total{bulkhead="reports",reason="full"}"#),
        2.0
    );
    assert_eq!(v(r#"bulkhead_pool_size{bulkhead="db_read"}"#), 6.0);
    assert_eq!(v(r#"bulkhead_pool_idle{bulkhead="db_write"}"#), 4.0);
    assert_eq!(v(r#"bulkhead_utilization{bulkhead="db_write"}"#), 0.25);
}

#[test]
fn publishing_again_follows_the_stats() {
    let recorder = prometheus::builder().build_recorder();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);
    let metrics = BulkheadMetrics::new();
    let pool = Arc::new(Scripted::new("db", "deadpool", stats(8, 1, 1, 0)));
    metrics.register_dyn(pool.clone()).unwrap();
    let page = prometheus::render(&metrics, &handle);
    assert_eq!(
        value(&page, r#"bulkhead_active_tasks{bulkhead="db"}"#),
        Some(1.0)
    );
    pool.set(stats(8, 5, 30, 7));
    let page = prometheus::render(&metrics, &handle);
    assert_eq!(
        value(&page, r#"bulkhead_active_tasks{bulkhead="db"}"#),
        Some(5.0)
    );
    assert_eq!(
        value(&page, r#"bulkhead_admitted_total{bulkhead="db"}"#),
        Some(30.0)
    );
    assert_eq!(
        value(
            &page,
            r#"bulkhead_rejections_total{bulkhead="db",reason="full"}"#
        ),
        Some(7.0)
    );
    assert!(metrics.unregister("db"));
    assert!(metrics.names().is_empty());
}

#[test]
fn a_second_compartment_with_the_same_name_is_refused() {
    let metrics = BulkheadMetrics::new();
    metrics
        .register(Scripted::new("db", "deadpool", stats(1, 0, 0, 0)))
        .unwrap();
    let err = metrics
        .register(Scripted::new("db", "bb8", stats(1, 0, 0, 0)))
        .unwrap_err();
    assert_eq!(err.name(), "db");
    assert_eq!(
        err.to_string(),
        "a compartment called `db` is already registered for metrics"
    );
}

#[tokio::test(start_paused = true)]
async fn a_waiting_caller_records_its_wait_in_the_histogram() {
    let recorder = prometheus::builder().build_recorder();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);
    let metrics = BulkheadMetrics::new();
    let db = SemaphoreBulkhead::builder("db")
        .max_concurrent(1)
        .max_wait(Duration::from_secs(1))
        .observer(metrics.observer("db"))
        .build()
        .unwrap();
    metrics.register(db.clone()).unwrap();
    let held = db.acquire().await.unwrap();
    let waiter = {
        let db = db.clone();
        tokio::spawn(async move { db.execute(async {}).await })
    };
    tokio::task::yield_now().await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    drop(held);
    waiter.await.unwrap().unwrap();
    let page = prometheus::render(&metrics, &handle);
    // The quanta clock is not tokio's paused clock, so only the counts are exact.
    assert_eq!(
        value(
            &page,
            r#"bulkhead_wait_duration_seconds_count{bulkhead="db"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        value(&page, r#"bulkhead_calls_total{bulkhead="db",outcome="ok"}"#),
        Some(2.0)
    );
}

#[test]
fn bucketed_durations_expose_the_exact_counts_and_sums_of_their_samples() {
    use bulkhead_core::{CompartmentInfo, Finished};
    let recorder = prometheus::builder().build_recorder();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);
    let metrics = BulkheadMetrics::new();
    let observer = metrics.observer("x");
    let info = CompartmentInfo::new("x", "semaphore");
    let finish = |ms: u64| {
        observer.on_finished(
            &info,
            &Finished::new(Duration::from_millis(ms), Outcome::Ok),
        )
    };
    for ms in [1, 3, 3, 2000] {
        finish(ms);
    }
    metrics.publish();
    let page = handle.render();
    let v = |series: &str| value(&page, series).unwrap_or_else(|| panic!("no {series}\n{page}"));
    let bucket = |le: &str| {
        v(&format!(
            r#"bulkhead_call_duration_seconds_bucket{{bulkhead="x",le="{le}"}}"#
        ))
    };
    assert_eq!(bucket("0.0005"), 0.0);
    assert_eq!(bucket("0.001"), 1.0);
    assert_eq!(bucket("0.0025"), 1.0);
    assert_eq!(bucket("0.005"), 3.0);
    assert_eq!(bucket("1"), 3.0);
    assert_eq!(bucket("2.5"), 4.0);
    assert_eq!(bucket("+Inf"), 4.0);
    assert_eq!(
        v(r#"bulkhead_call_duration_seconds_count{bulkhead="x"}"#),
        4.0
    );
    assert!((v(r#"bulkhead_call_duration_seconds_sum{bulkhead="x"}"#) - 2.007).abs() < 1e-9);

    // Later samples add to what was published.
    finish(40_000);
    metrics.publish();
    metrics.publish(); // nothing new: nothing added twice
    let page = handle.render();
    let v = |series: &str| value(&page, series).unwrap();
    assert_eq!(
        v(r#"bulkhead_call_duration_seconds_count{bulkhead="x"}"#),
        5.0
    );
    assert_eq!(
        v(r#"bulkhead_call_duration_seconds_bucket{bulkhead="x",le="30"}"#),
        4.0
    );
    assert!((v(r#"bulkhead_call_duration_seconds_sum{bulkhead="x"}"#) - 42.007).abs() < 1e-9);
}

#[test]
fn real_compartments_of_every_kind_publish_their_stats_and_figures() {
    let (page, _orders, _held) = page_of_every_kind();
    let v = |series: &str| value(&page, series).unwrap_or_else(|| panic!("{series}:\n{page}"));
    // Each pair's capacity is both pools together; no connection is open yet.
    for db in ["orders_db", "users_db"] {
        assert_eq!(
            v(&format!(r#"bulkhead_target_capacity{{bulkhead="{db}"}}"#)),
            6.0
        );
        assert_eq!(v(&format!(r#"bulkhead_pool_size{{bulkhead="{db}"}}"#)), 0.0);
        assert_eq!(v(&format!(r#"bulkhead_pool_idle{{bulkhead="{db}"}}"#)), 0.0);
    }
    assert_eq!(v(r#"bulkhead_runtime_queue_depth{bulkhead="cpu"}"#), 0.0);
    let busy = v(r#"bulkhead_runtime_busy_ratio{bulkhead="cpu"}"#);
    assert!((0.0..=1.0).contains(&busy), "{busy}");
}
