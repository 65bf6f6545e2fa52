//! A kind defined outside the workspace's crates, registered, configured, validated and
//! reloaded like a built-in one.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bulkhead::registry::{Environment, Origin, ProblemKind, Registry, RegistryBuilder, Sources};
use bulkhead::{CompartmentInfo, Observer, RejectReason, Rejected, SemaphoreBulkhead};
use bulkhead_example_custom_kind::{RateLimit, RateLimitConfig, RateLimitPlugin};

fn example_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bulkhead.toml")
}

fn builder(file: &Path, vars: &[(&str, &str)]) -> RegistryBuilder {
    Registry::builder()
        .sources(
            Sources::new()
                .file(file)
                .environment(Environment::from_vars(vars.iter().copied())),
        )
        .plugin(RateLimitPlugin)
}

/// A file in a directory of its own, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "bulkhead-custom-kind-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let file = TempFile(dir.join(name));
        file.write(text);
        file
    }

    fn write(&self, text: &str) {
        std::fs::write(&self.0, text).unwrap();
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[test]
fn the_example_configuration_builds_both_kinds() {
    let registry = builder(&example_config(), &[]).build().unwrap();
    // The built-in kinds present depend on the registry's features; the custom kind
    // sits beside them.
    let kinds = registry.kinds();
    assert!(
        kinds.contains(&"rate-limit") && kinds.contains(&"semaphore"),
        "{kinds:?}"
    );
    assert_eq!(registry.names(), ["database", "geocoder", "mailer"]);
    assert_eq!(
        registry.get::<RateLimit>("geocoder").unwrap().config(),
        RateLimitConfig {
            max_calls: 5,
            per: Duration::from_secs(1),
        },
        "`per` is inherited from [defaults.rate-limit]"
    );
    assert_eq!(
        registry.get::<RateLimit>("mailer").unwrap().config().per,
        Duration::from_secs(60)
    );
    assert_eq!(
        registry
            .get::<SemaphoreBulkhead>("database")
            .unwrap()
            .config()
            .max_concurrent,
        10
    );
    let kinds: Vec<(String, &str)> = registry
        .compartments()
        .iter()
        .map(|c| (c.name().to_owned(), c.kind()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("database".to_owned(), "semaphore"),
            ("geocoder".to_owned(), "rate-limit"),
            ("mailer".to_owned(), "rate-limit"),
        ]
    );
}

#[tokio::test]
async fn a_rate_limit_refuses_calls_beyond_its_window() {
    let registry = builder(&example_config(), &[]).build().unwrap();
    let geocoder = registry.get::<RateLimit>("geocoder").unwrap();
    for i in 0..5 {
        assert_eq!(geocoder.call(async { i }).await.unwrap(), i);
    }
    let refused = geocoder.call(async {}).await.unwrap_err();
    assert_eq!(refused.reason(), RejectReason::Full);
    assert_eq!(refused.compartment(), "geocoder");
    assert!(refused.retry_after().unwrap() <= Duration::from_secs(1));
    let stats = registry.compartment("geocoder").unwrap().stats();
    assert_eq!(
        (stats.admitted, stats.rejected.full, stats.in_use),
        (5, 1, 5)
    );
}

#[test]
fn invalid_custom_settings_are_reported_with_key_and_line() {
    let file = TempFile::new(
        "bulkhead.toml",
        "\
[compartments.geocoder]
kind = \"rate-limit\"
max_calls = 0
burst = 3

[compartments.mailer]
kind = \"rate-limit\"
per = \"soon\"
",
    );
    let error = builder(&file.0, &[]).build().unwrap_err();
    type Row<'a> = (Option<&'a str>, Option<&'a str>, ProblemKind, Option<usize>);
    let found: Vec<Row<'_>> = error
        .problems()
        .iter()
        .map(|p| {
            (
                p.compartment(),
                p.key(),
                p.kind(),
                p.origin().and_then(Origin::line),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                Some("geocoder"),
                Some("burst"),
                ProblemKind::UnknownKey,
                Some(4)
            ),
            (
                Some("geocoder"),
                Some("max_calls"),
                ProblemKind::InvalidValue,
                Some(3)
            ),
            (
                Some("mailer"),
                Some("per"),
                ProblemKind::InvalidValue,
                Some(8)
            ),
        ],
        "{error}"
    );
    assert!(error.problems()[0]
        .message()
        .ends_with("expected one of `max_calls`, `per`"));
    assert_eq!(
        error.problems()[1].message(),
        "must be between 1 and 1000000 (got 0)"
    );
}

#[test]
fn the_environment_overrides_a_custom_kind() {
    let registry = builder(
        &example_config(),
        &[
            ("BULKHEAD_COMPARTMENTS__GEOCODER__MAX_CALLS", "2"),
            // `RATE_LIMIT` is the `rate-limit` kind: `_` stands for `-`.
            ("BULKHEAD_DEFAULTS__RATE_LIMIT__PER", "250ms"),
        ],
    )
    .build()
    .unwrap();
    assert_eq!(
        registry.get::<RateLimit>("geocoder").unwrap().config(),
        RateLimitConfig {
            max_calls: 2,
            per: Duration::from_millis(250),
        }
    );
    assert_eq!(
        registry.get::<RateLimit>("mailer").unwrap().config().per,
        Duration::from_secs(60),
        "the mailer sets its own window"
    );
}

#[test]
fn reload_changes_a_rate_limit_live() {
    let file = TempFile::new(
        "bulkhead.yaml",
        "compartments:\n  geocoder:\n    kind: rate-limit\n    max_calls: 1\n",
    );
    let registry = builder(&file.0, &[]).build().unwrap();
    let geocoder = registry.get::<RateLimit>("geocoder").unwrap();
    geocoder.try_call().unwrap();
    assert!(geocoder.try_call().is_err());

    file.write("compartments:\n  geocoder:\n    kind: rate-limit\n    max_calls: 3\n");
    let report = registry.reload().unwrap();
    assert_eq!(report.applied.len(), 1, "{report}");
    assert_eq!(report.applied[0].key, "max_calls");
    assert!(!report.needs_restart());
    geocoder.try_call().unwrap();
    geocoder.try_call().unwrap();
    assert!(geocoder.try_call().is_err());
}

#[derive(Default)]
struct Log(Mutex<Vec<String>>);

impl Observer for Log {
    fn on_admitted(&self, info: &CompartmentInfo, _: &bulkhead::Admitted) {
        self.0
            .lock()
            .unwrap()
            .push(format!("admitted {}", info.name()));
    }
    fn on_rejected(&self, info: &CompartmentInfo, rejection: &Rejected) {
        self.0.lock().unwrap().push(format!(
            "rejected {} {}",
            info.name(),
            rejection.reason().as_str()
        ));
    }
}

#[test]
fn observers_see_the_events_of_the_custom_kind() {
    let file = TempFile::new(
        "bulkhead.toml",
        "[compartments.geocoder]\nkind = \"rate-limit\"\nmax_calls = 1\n",
    );
    let log = Arc::new(Log::default());
    let observer = Arc::clone(&log);
    let registry = builder(&file.0, &[])
        .observer_factory(move |_| observer.clone())
        .build()
        .unwrap();
    let geocoder = registry.get::<RateLimit>("geocoder").unwrap();
    let _ = geocoder.try_call();
    let _ = geocoder.try_call();
    assert_eq!(
        *log.0.lock().unwrap(),
        ["admitted geocoder", "rejected geocoder full"]
    );
}
