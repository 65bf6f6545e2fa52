//! The health monitor's figures under a scripted load, in paused time.

mod support;

use std::io;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bulkhead_core::Stats;
use bulkhead_metrics::{prometheus, BulkheadMetrics, HealthConfig, HealthMonitor, HealthStatus};
use bulkhead_semaphore::SemaphoreBulkhead;
use support::value;
use tokio::time::{sleep_until, Instant};

/// Captures what the monitor logs.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// The lines logged since the last call that mention compartment `name`.
    fn take(&self, name: &str) -> String {
        let text = String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap();
        let needle = format!("`{name}`");
        text.lines()
            .filter(|l| l.contains(&needle))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    /// The log of this test binary: a global subscriber, so that no test's events are
    /// lost to another thread's callsite cache.
    fn global() -> &'static Logs {
        static LOGS: OnceLock<Logs> = OnceLock::new();
        LOGS.get_or_init(|| {
            let logs = Logs::default();
            let writer = logs.clone();
            tracing_subscriber::fmt()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .init();
            logs
        })
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_monitors_figures_match_the_stats_of_each_interval() {
    let logs = Logs::global();
    let recorder = prometheus::builder().build_recorder();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);

    let metrics = BulkheadMetrics::new();
    let db = SemaphoreBulkhead::builder("scripted")
        .max_concurrent(4)
        .build()
        .unwrap();
    metrics.register(db.clone()).unwrap();
    let config = HealthConfig::default()
        .interval(Duration::from_secs(1))
        .samples_per_interval(10);
    let monitor = HealthMonitor::new(&metrics, config).unwrap();
    let start = Instant::now();
    let at = |ms: u64| start + Duration::from_millis(ms);
    let _task = monitor.spawn();
    // Samples are taken every 100 ms; the script acts 50 ms off those instants.
    let mut previous: Stats = db.stats();
    let mut check = |expected_intervals: u64| {
        let report = monitor.report();
        assert_eq!(report.intervals, expected_intervals);
        let figures = report.compartment("scripted").unwrap().clone();
        let now = db.stats();
        let delta = now.delta_since(&previous);
        previous = now;
        assert_eq!(figures.admitted, delta.admitted);
        assert_eq!(figures.rejected, delta.rejected.total());
        assert!(close(figures.rejection_rate, delta.rejection_rate()));
        assert_eq!(figures.in_use, now.in_use);
        assert_eq!(figures.capacity, 4);
        assert_eq!(figures.kind, "semaphore");
        (report, figures)
    };

    // Interval 1: two slots held throughout.
    let mut held = vec![
        db.try_acquire_owned().unwrap(),
        db.try_acquire_owned().unwrap(),
    ];
    sleep_until(at(1050)).await;
    let (report, figures) = check(1);
    assert!(close(figures.utilization, 0.5));
    assert_eq!(figures.rejection_rate, 0.0);
    assert_eq!(figures.status, HealthStatus::Healthy);
    assert_eq!(report.status, HealthStatus::Healthy);
    assert_eq!(logs.take("scripted"), "");

    // Interval 2: all four slots held throughout, nobody refused.
    held.push(db.try_acquire_owned().unwrap());
    held.push(db.try_acquire_owned().unwrap());
    sleep_until(at(2050)).await;
    let (report, figures) = check(2);
    assert!(close(figures.utilization, 1.0));
    assert_eq!(figures.status, HealthStatus::Degraded);
    assert_eq!(report.http_status(), 200);
    let said = logs.take("scripted");
    assert!(
        said.contains("WARN") && said.contains("bulkhead `scripted` utilisation is high: 100.0%"),
        "{said}"
    );
    assert!(!said.contains("ERROR"), "{said}");

    // Interval 3: full for half the interval, three callers refused; then two slots
    // come back and seven calls go through: 3 refused of 10 decided.
    for _ in 0..3 {
        assert!(db.try_acquire().is_err());
    }
    sleep_until(at(2550)).await;
    held.truncate(2);
    for _ in 0..7 {
        drop(db.try_acquire().unwrap());
    }
    sleep_until(at(3050)).await;
    let (report, figures) = check(3);
    assert!(close(figures.utilization, 0.75), "{}", figures.utilization);
    assert!(close(figures.rejection_rate, 0.3));
    assert_eq!((figures.admitted, figures.rejected), (7, 3));
    assert_eq!(figures.status, HealthStatus::Saturated);
    assert_eq!(report.status, HealthStatus::Saturated);
    assert_eq!(report.http_status(), 503);
    let said = logs.take("scripted");
    assert!(
        said.contains("ERROR")
            && said.contains("bulkhead `scripted` rejection rate is high: 30.0%"),
        "{said}"
    );

    // The gauges carry the same figures.
    let page = handle.render();
    assert_eq!(
        value(&page, r#"bulkhead_utilization{bulkhead="scripted"}"#),
        Some(0.75)
    );
    assert_eq!(
        value(&page, r#"bulkhead_rejection_rate{bulkhead="scripted"}"#),
        Some(0.3)
    );

    // The report serializes for a /health endpoint.
    let json = serde_json::to_value(&*report).unwrap();
    assert_eq!(json["status"], "saturated");
    assert_eq!(json["interval_ms"], 1000);
    assert_eq!(json["compartments"][0]["name"], "scripted");
    assert_eq!(json["compartments"][0]["status"], "saturated");
    assert_eq!(json["compartments"][0]["rejected"], 3);

    // Interval 4: quiet, two slots still held.
    sleep_until(at(4050)).await;
    let (_, figures) = check(4);
    assert!(close(figures.utilization, 0.5));
    assert_eq!(figures.rejection_rate, 0.0);
    assert_eq!(figures.status, HealthStatus::Healthy);
    drop(held);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_compartment_registered_later_is_watched_from_the_next_sample() {
    let metrics = BulkheadMetrics::new();
    let monitor = HealthMonitor::new(
        &metrics,
        HealthConfig::default()
            .interval(Duration::from_secs(1))
            .samples_per_interval(2),
    )
    .unwrap();
    let _task = monitor.spawn();
    let late = SemaphoreBulkhead::builder("late")
        .max_concurrent(1)
        .build()
        .unwrap();
    metrics.register(late.clone()).unwrap();
    let _held = late.try_acquire().unwrap();
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let report = monitor.report();
    let figures = report.compartment("late").unwrap();
    assert_eq!(figures.utilization, 1.0);
    assert_eq!(figures.admitted, 0, "admitted before its first sample");
    assert!(metrics.unregister("late"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(monitor.report().compartments.is_empty());
}

#[test]
fn thresholds_are_configurable_and_validated() {
    let metrics = BulkheadMetrics::new();
    let strict = HealthConfig::default()
        .utilization_threshold(0.4)
        .rejection_rate_threshold(0.0)
        .samples_per_interval(1);
    let monitor = HealthMonitor::new(&metrics, strict).unwrap();
    let db = SemaphoreBulkhead::builder("db")
        .max_concurrent(2)
        .build()
        .unwrap();
    metrics.register(db.clone()).unwrap();
    let _held = db.try_acquire().unwrap();
    assert_eq!(monitor.end_interval().status, HealthStatus::Degraded);

    for bad in [
        HealthConfig::default().utilization_threshold(1.5),
        HealthConfig::default().rejection_rate_threshold(-0.1),
        HealthConfig::default().interval(Duration::ZERO),
        HealthConfig::default().samples_per_interval(0),
    ] {
        assert!(HealthMonitor::new(&metrics, bad).is_err());
    }
    let err = HealthConfig::default()
        .utilization_threshold(1.5)
        .validate()
        .unwrap_err();
    assert_eq!(err.key(), "utilization_threshold");
}

#[cfg(feature = "serde")]
#[test]
fn the_config_reads_from_toml_with_human_durations() {
    let config: HealthConfig =
        toml::from_str("interval = \"30s\"\nutilization_threshold = 0.8\n").unwrap();
    assert_eq!(config.interval, Duration::from_secs(30));
    assert_eq!(config.utilization_threshold, 0.8);
    assert_eq!(config.rejection_rate_threshold, 0.05);
    assert!(toml::from_str::<HealthConfig>("intervall = \"1s\"").is_err());
}

#[test]
fn before_the_first_interval_the_report_lists_the_compartments_with_nothing_measured() {
    let metrics = BulkheadMetrics::new();
    let busy = SemaphoreBulkhead::builder("busy")
        .max_concurrent(4)
        .build()
        .unwrap();
    metrics.register(busy.clone()).unwrap();
    let _held = busy.try_acquire().unwrap();
    let monitor = HealthMonitor::new(&metrics, HealthConfig::default()).unwrap();

    let report = monitor.report();
    assert_eq!(report.intervals, 0);
    assert_eq!(report.status, HealthStatus::Healthy);
    assert_eq!(report.interval_ms, 10_000);
    let figures = report.compartment("busy").expect("listed at once");
    assert_eq!((figures.in_use, figures.capacity), (1, 4));
    assert_eq!((figures.admitted, figures.rejection_rate), (0, 0.0));
}
