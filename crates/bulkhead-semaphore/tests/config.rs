//! Configuration: defaults, serde, validation at load.

use std::time::Duration;

use bulkhead_semaphore::{SemaphoreBulkhead, SemaphoreConfig};

#[test]
fn defaults_are_documented_values() {
    let c = SemaphoreConfig::default();
    assert_eq!(c.max_concurrent, 25);
    assert_eq!(c.max_wait, Duration::ZERO);
    assert_eq!(c.max_waiting, 1024);
    assert_eq!(c.retry_after, None);
}

#[test]
fn durations_are_read_in_human_form_and_missing_keys_take_defaults() {
    let c: SemaphoreConfig = toml::from_str(
        r#"
        max_concurrent = 100
        max_wait = "10s"
        retry_after = "250ms"
        "#,
    )
    .unwrap();
    assert_eq!(c.max_concurrent, 100);
    assert_eq!(c.max_wait, Duration::from_secs(10));
    assert_eq!(c.retry_after, Some(Duration::from_millis(250)));
    assert_eq!(c.max_waiting, 1024);
}

#[test]
fn unknown_keys_are_refused_by_name() {
    let err = toml::from_str::<SemaphoreConfig>("max_concurent = 3").unwrap_err();
    assert!(err.to_string().contains("max_concurent"), "{err}");
}

#[test]
fn unparsable_durations_are_refused() {
    let err = serde_json::from_str::<SemaphoreConfig>(r#"{"max_wait":"ten seconds"}"#).unwrap_err();
    assert!(
        err.to_string().contains("unknown time unit") || err.to_string().contains("expected"),
        "{err}"
    );
}

#[test]
fn negative_limits_are_refused_at_load() {
    assert!(serde_json::from_str::<SemaphoreConfig>(r#"{"max_concurrent":-1}"#).is_err());
}

#[test]
fn zero_and_absurd_limits_are_refused_naming_the_compartment_and_key() {
    let err = SemaphoreBulkhead::new("orders", SemaphoreConfig::new(0)).unwrap_err();
    assert_eq!(
        (err.compartment(), err.key()),
        (Some("orders"), "max_concurrent")
    );

    let problems = SemaphoreConfig::new(5_000_000)
        .max_wait(Duration::from_secs(86_400))
        .max_waiting(usize::MAX)
        .problems();
    let keys: Vec<_> = problems.iter().map(|p| p.key()).collect();
    assert_eq!(keys, ["max_concurrent", "max_wait", "max_waiting"]);
    assert_eq!(
        problems[0].to_string(),
        "`max_concurrent` must be at most 1000000 (got 5000000)"
    );
}

#[test]
fn a_config_round_trips_through_serde() {
    let c = SemaphoreConfig::new(7)
        .max_wait(Duration::from_millis(1500))
        .retry_after(Some(Duration::from_secs(1)));
    let text = serde_json::to_string(&c).unwrap();
    assert_eq!(serde_json::from_str::<SemaphoreConfig>(&text).unwrap(), c);
}
