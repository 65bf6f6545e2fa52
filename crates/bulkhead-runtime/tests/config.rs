//! Configuration: defaults, validation naming the key, serde.

use std::error::Error;
use std::time::Duration;

use bulkhead_runtime::{BuildError, RuntimeBulkhead, RuntimeConfig};

#[test]
fn the_defaults_are_the_documented_ones() {
    let c = RuntimeConfig::default();
    assert_eq!(c.worker_threads, 2);
    assert_eq!(c.max_blocking_threads, 16);
    assert_eq!(c.thread_name, None);
    assert_eq!(c.thread_stack_size, 2 * 1024 * 1024);
    assert_eq!(c.queue_capacity, 1024);
    assert_eq!(c.max_wait, Duration::ZERO);
    assert_eq!(c.max_waiting, 1024);
    assert_eq!(c.retry_after, None);
    assert!(!c.enable_io);
    assert_eq!(c.metrics_interval, None);
    assert!(c.validate().is_ok());
}

#[test]
fn zero_and_absurd_values_are_refused_naming_the_key() {
    let d = RuntimeConfig::default;
    let cases = [
        (d().worker_threads(0), "worker_threads"),
        (d().worker_threads(1025), "worker_threads"),
        (d().max_blocking_threads(0), "max_blocking_threads"),
        (d().max_blocking_threads(100_000), "max_blocking_threads"),
        (d().thread_name(""), "thread_name"),
        (d().thread_name("a\0b"), "thread_name"),
        (d().thread_name("x".repeat(65)), "thread_name"),
        (d().thread_stack_size(0), "thread_stack_size"),
        (d().thread_stack_size(1 << 40), "thread_stack_size"),
        (d().queue_capacity(0), "queue_capacity"),
        (d().queue_capacity(1_000_001), "queue_capacity"),
        (d().max_wait(Duration::from_secs(86_400)), "max_wait"),
        (d().max_waiting(usize::MAX), "max_waiting"),
        (
            d().retry_after(Some(Duration::from_secs(86_400))),
            "retry_after",
        ),
        (
            d().metrics_interval(Some(Duration::ZERO)),
            "metrics_interval",
        ),
        (
            d().metrics_interval(Some(Duration::from_secs(86_400))),
            "metrics_interval",
        ),
    ];
    for (config, key) in cases {
        let problems = config.problems();
        assert_eq!(problems.len(), 1, "{config:?}: {problems:?}");
        assert_eq!(problems[0].key(), key, "{config:?}");
        assert_eq!(config.validate().unwrap_err().key(), key);
    }
    assert_eq!(
        d().worker_threads(0).validate().unwrap_err().to_string(),
        "`worker_threads` must be at least 1 (got 0)"
    );
}

#[test]
fn problems_lists_every_bad_key_in_field_order() {
    let problems = RuntimeConfig::default()
        .worker_threads(0)
        .queue_capacity(0)
        .metrics_interval(Some(Duration::ZERO))
        .problems();
    let keys: Vec<_> = problems.iter().map(|p| p.key()).collect();
    assert_eq!(
        keys,
        ["worker_threads", "queue_capacity", "metrics_interval"]
    );
}

#[test]
fn a_bad_config_builds_nothing_and_the_error_names_compartment_and_key() {
    let err = RuntimeBulkhead::new("cpu", RuntimeConfig::default().queue_capacity(0)).unwrap_err();
    let problem = err.config().expect("a config problem");
    assert_eq!(
        (problem.compartment(), problem.key()),
        (Some("cpu"), "queue_capacity")
    );
    assert_eq!(
        err.to_string(),
        "compartment `cpu`: `queue_capacity` must be at least 1 (got 0)"
    );
    assert!(err.source().is_some());
    assert!(matches!(err, BuildError::Config(_)));
}

#[test]
fn a_compartment_name_that_cannot_name_threads_needs_a_thread_name() {
    let err = RuntimeBulkhead::new("", RuntimeConfig::default()).unwrap_err();
    assert_eq!(err.config().map(|p| p.key()), Some("thread_name"));
    let cpu = RuntimeBulkhead::new("", RuntimeConfig::default().thread_name("unnamed-cpu"))
        .expect("valid with a thread name");
    assert_eq!(cpu.thread_name(), "unnamed-cpu");
}

#[test]
fn the_thread_name_defaults_to_the_compartment_name() {
    let cpu = RuntimeBulkhead::new("reports", RuntimeConfig::default()).expect("valid config");
    assert_eq!(cpu.thread_name(), "reports");
    assert_eq!(
        cpu.config(),
        RuntimeConfig::default(),
        "the config as given"
    );
    let on = futures::executor::block_on(
        cpu.execute(async { std::thread::current().name().map(str::to_owned) }),
    );
    assert_eq!(on.expect("ran").as_deref(), Some("reports"));
}

#[test]
fn durations_are_read_in_human_form_and_missing_keys_take_defaults() {
    let c: RuntimeConfig = toml::from_str(
        r#"
        worker_threads = 4
        thread_name = "img"
        queue_capacity = 64
        max_wait = "250ms"
        metrics_interval = "10s"
        "#,
    )
    .unwrap();
    assert_eq!(
        c,
        RuntimeConfig::default()
            .worker_threads(4)
            .thread_name("img")
            .queue_capacity(64)
            .max_wait(Duration::from_millis(250))
            .metrics_interval(Some(Duration::from_secs(10)))
    );
}

#[test]
fn an_empty_table_gives_the_defaults() {
    let c: RuntimeConfig = toml::from_str("").unwrap();
    assert_eq!(c, RuntimeConfig::default());
}

#[test]
fn unknown_keys_are_refused_by_name() {
    let err = toml::from_str::<RuntimeConfig>("worker_thread = 3").unwrap_err();
    assert!(err.to_string().contains("worker_thread"), "{err}");
}

#[test]
fn a_config_round_trips_through_serde() {
    let c = RuntimeConfig::default()
        .worker_threads(3)
        .max_blocking_threads(4)
        .thread_name("cpu")
        .thread_stack_size(4 << 20)
        .queue_capacity(10)
        .max_wait(Duration::from_millis(1500))
        .max_waiting(5)
        .retry_after(Some(Duration::from_secs(1)))
        .enable_io(true)
        .metrics_interval(Some(Duration::from_millis(500)));
    let text = serde_json::to_string(&c).unwrap();
    assert_eq!(serde_json::from_str::<RuntimeConfig>(&text).unwrap(), c);
}

#[tokio::test]
async fn reconfigure_changes_the_queue_live_and_names_what_needs_a_new_compartment() {
    let cpu = RuntimeBulkhead::new(
        "live",
        RuntimeConfig::default().worker_threads(1).queue_capacity(1),
    )
    .expect("valid config");
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let held = cpu
        .try_spawn({
            let gate = std::sync::Arc::clone(&gate);
            async move { drop(gate.acquire().await) }
        })
        .expect("admitted");
    assert!(cpu.try_spawn(async {}).is_err());

    let same_threads = RuntimeConfig::default()
        .worker_threads(1)
        .queue_capacity(2)
        .max_wait(Duration::from_millis(10));
    assert_eq!(cpu.reconfigure(&same_threads), Ok(vec![]));
    assert_eq!(cpu.config().queue_capacity, 2);
    assert_eq!(cpu.config().max_wait, Duration::from_millis(10));
    assert_eq!(cpu.execute(async { "fits now" }).await, Ok("fits now"));

    let restart = RuntimeConfig::default()
        .worker_threads(3)
        .thread_name("other")
        .enable_io(true);
    assert_eq!(
        cpu.reconfigure(&restart),
        Ok(vec!["worker_threads", "thread_name", "enable_io"])
    );
    assert_eq!(
        cpu.config().worker_threads,
        1,
        "the running runtime keeps its threads"
    );

    let err = cpu
        .reconfigure(&RuntimeConfig::default().queue_capacity(0))
        .unwrap_err();
    assert_eq!(
        (err.compartment(), err.key()),
        (Some("live"), "queue_capacity")
    );
    assert_eq!(
        cpu.config().queue_capacity,
        1024,
        "the last valid one stays"
    );

    gate.add_permits(1);
    held.await.expect("ran");
}
