//! Defaults, files and environment variables, layered.
#![cfg(feature = "semaphore")]

mod support;

use std::time::Duration;

use bulkhead_registry::{env_var_for, Environment, Origin, Registry, Sources};
use bulkhead_semaphore::{SemaphoreBulkhead, SemaphoreConfig};
use support::{builder, TempDir};

fn config_of(registry: &Registry, name: &str) -> SemaphoreConfig {
    registry.get::<SemaphoreBulkhead>(name).unwrap().config()
}

#[cfg(feature = "runtime")]
fn guide_config() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/bulkhead.yaml")
}

#[test]
#[cfg(feature = "runtime")]
fn the_guides_configuration_loads_as_is() {
    let registry = builder(&[guide_config()], &[]).build().unwrap();
    assert_eq!(
        registry.names(),
        [
            "order-api",
            "order-service",
            "payment-api",
            "payment-service",
            "user-api",
            "user-service"
        ]
    );
    for (name, limit) in [("user-api", 100), ("order-api", 50), ("payment-api", 20)] {
        let config = config_of(&registry, name);
        assert_eq!(config.max_concurrent, limit, "{name}");
        assert_eq!(config.max_wait, Duration::from_secs(10), "{name}");
    }
    for name in ["user-service", "order-service", "payment-service"] {
        assert_eq!(
            registry.compartment(name).unwrap().kind(),
            "runtime",
            "{name}"
        );
    }
    registry.close();
}

#[test]
fn an_environment_variable_overrides_a_file_value() {
    let dir = TempDir::new("env-override");
    let path = dir.write(
        "bulkhead.toml",
        "[compartments.orders]\nkind = \"semaphore\"\nmax_concurrent = 50\nmax_waiting = 10\n",
    );
    let registry = builder(
        &[&path],
        &[("BULKHEAD_COMPARTMENTS__ORDERS__MAX_CONCURRENT", "80")],
    )
    .build()
    .unwrap();
    let config = config_of(&registry, "orders");
    assert_eq!(config.max_concurrent, 80);
    assert_eq!(
        config.max_waiting, 10,
        "keys the variable does not set stay"
    );
}

#[test]
fn dashes_in_compartment_names_are_written_as_underscores_in_variables() {
    let dir = TempDir::new("env-dashes");
    let path = dir.write(
        "bulkhead.yaml",
        "compartments:\n  user-service:\n    kind: semaphore\n  db.primary:\n    kind: semaphore\n",
    );
    let registry = builder(
        &[&path],
        &[
            ("BULKHEAD_COMPARTMENTS__USER_SERVICE__MAX_CONCURRENT", "7"),
            ("bulkhead_compartments__db_primary__max_wait", "250ms"),
        ],
    )
    .build()
    .unwrap();
    assert_eq!(registry.names(), ["db.primary", "user-service"]);
    assert_eq!(config_of(&registry, "user-service").max_concurrent, 7);
    assert_eq!(
        config_of(&registry, "db.primary").max_wait,
        Duration::from_millis(250)
    );
    assert_eq!(
        env_var_for(&["compartments", "user-service", "max_concurrent"]),
        "BULKHEAD_COMPARTMENTS__USER_SERVICE__MAX_CONCURRENT"
    );
}

#[test]
fn a_variable_for_an_unknown_name_creates_a_compartment_named_in_lowercase() {
    let registry = builder::<&str>(
        &[],
        &[
            ("BULKHEAD_COMPARTMENTS__AUDIT_LOG__KIND", "semaphore"),
            ("BULKHEAD_COMPARTMENTS__AUDIT_LOG__MAX_CONCURRENT", "3"),
        ],
    )
    .build()
    .unwrap();
    assert_eq!(registry.names(), ["audit_log"]);
    assert_eq!(config_of(&registry, "audit_log").max_concurrent, 3);
}

#[test]
fn defaults_are_inherited_by_every_compartment_of_their_kind() {
    let dir = TempDir::new("inherit");
    let path = dir.write(
        "bulkhead.toml",
        r#"
[defaults.semaphore]
max_wait = "10s"
max_waiting = 64

[compartments.a]
kind = "semaphore"
max_concurrent = 5

[compartments.b]
kind = "semaphore"
max_waiting = 8
"#,
    );
    let registry = builder(&[&path], &[]).build().unwrap();
    let a = config_of(&registry, "a");
    let b = config_of(&registry, "b");
    assert_eq!(
        (a.max_wait, a.max_waiting, a.max_concurrent),
        (Duration::from_secs(10), 64, 5)
    );
    assert_eq!(
        (b.max_wait, b.max_waiting, b.max_concurrent),
        (
            Duration::from_secs(10),
            8,
            SemaphoreConfig::default().max_concurrent
        ),
        "own values win; unset keys fall back to the kind's built-in default"
    );
}

#[test]
fn defaults_from_the_environment_are_inherited() {
    let dir = TempDir::new("env-defaults");
    let path = dir.write(
        "bulkhead.yaml",
        "defaults:\n  semaphore:\n    max_wait: 1s\ncompartments:\n  a:\n    kind: semaphore\n",
    );
    let registry = builder(
        &[&path],
        &[("BULKHEAD_DEFAULTS__SEMAPHORE__MAX_WAIT", "3s")],
    )
    .build()
    .unwrap();
    assert_eq!(config_of(&registry, "a").max_wait, Duration::from_secs(3));
}

#[test]
fn later_files_override_earlier_ones() {
    let dir = TempDir::new("two-files");
    let base = dir.write(
        "base.yaml",
        "compartments:\n  a:\n    kind: semaphore\n    max_concurrent: 5\n    max_waiting: 9\n",
    );
    let prod = dir.write("prod.toml", "[compartments.a]\nmax_concurrent = 50\n");
    let registry = builder(&[&base, &prod], &[]).build().unwrap();
    let a = config_of(&registry, "a");
    assert_eq!((a.max_concurrent, a.max_waiting), (50, 9));
}

#[test]
fn toml_and_yaml_give_the_same_configuration() {
    let dir = TempDir::new("formats");
    let toml = dir.write(
        "bulkhead.toml",
        "[defaults.semaphore]\nmax_wait = \"2s\"\n[compartments.a]\nkind = \"semaphore\"\nmax_concurrent = 4\nretry_after = \"1s\"\n",
    );
    let yaml = dir.write(
        "bulkhead.yaml",
        "defaults:\n  semaphore:\n    max_wait: 2s\ncompartments:\n  a:\n    kind: semaphore\n    max_concurrent: 4\n    retry_after: 1s\n",
    );
    let from_toml = config_of(&builder(&[&toml], &[]).build().unwrap(), "a");
    let from_yaml = config_of(&builder(&[&yaml], &[]).build().unwrap(), "a");
    assert_eq!(from_toml, from_yaml);
    assert_eq!(from_toml.retry_after, Some(Duration::from_secs(1)));
}

#[test]
fn human_durations_are_accepted() {
    let dir = TempDir::new("durations");
    let path = dir.write(
        "bulkhead.toml",
        "[compartments.a]\nkind = \"semaphore\"\nmax_wait = \"1m 30s\"\nretry_after = \"250ms\"\n",
    );
    let a = config_of(&builder(&[&path], &[]).build().unwrap(), "a");
    assert_eq!(a.max_wait, Duration::from_secs(90));
    assert_eq!(a.retry_after, Some(Duration::from_millis(250)));
}

#[test]
fn config_env_names_the_file_when_none_is_given() {
    let dir = TempDir::new("config-env");
    let first = dir.write("first.yaml", "compartments:\n  a:\n    kind: semaphore\n");
    let second = dir.write("second.toml", "[compartments.a]\nmax_concurrent = 3\n");
    let joined = std::env::join_paths([&first, &second]).unwrap();
    let registry = Registry::builder()
        .environment(Environment::from_vars([(
            "BULKHEAD_CONFIG",
            joined.to_str().unwrap(),
        )]))
        .build()
        .unwrap();
    assert_eq!(config_of(&registry, "a").max_concurrent, 3);
}

#[test]
fn an_explicit_file_wins_over_config_env() {
    let dir = TempDir::new("explicit");
    let named = dir.write(
        "named.yaml",
        "compartments:\n  named:\n    kind: semaphore\n",
    );
    let explicit = dir.write(
        "explicit.yaml",
        "compartments:\n  explicit:\n    kind: semaphore\n",
    );
    let registry = builder(
        &[&explicit],
        &[("BULKHEAD_CONFIG", named.to_str().unwrap())],
    )
    .build()
    .unwrap();
    assert_eq!(registry.names(), ["explicit"]);
}

#[test]
fn the_default_file_is_read_when_config_env_is_unset() {
    let dir = TempDir::new("default-file");
    let path = dir.write("service.yaml", "compartments:\n  a:\n    kind: semaphore\n");
    let sources = Sources::new()
        .default_file(&path)
        .environment(Environment::empty());
    let registry = Registry::builder().sources(sources).build().unwrap();
    assert_eq!(registry.names(), ["a"]);
}

#[test]
fn unrelated_bulkhead_variables_are_ignored() {
    let registry = builder::<&str>(
        &[],
        &[("BULKHEAD_BENCH_DIR", "/tmp"), ("BULKHEAD_LOG", "debug")],
    )
    .build()
    .unwrap();
    assert!(registry.is_empty());
}

#[test]
fn validation_reports_where_each_value_came_from() {
    let dir = TempDir::new("origins");
    let path = dir.write(
        "bulkhead.yaml",
        "defaults:\n  semaphore:\n    max_wait: 10s\ncompartments:\n  order-api:\n    kind: semaphore\n    max_concurrent: 50\n",
    );
    let var = "BULKHEAD_COMPARTMENTS__ORDER_API__MAX_WAITING";
    let resolved = builder(&[&path], &[(var, "12")]).validate().unwrap();
    assert_eq!(resolved.files(), std::slice::from_ref(&path));
    let orders = resolved.get("order-api").unwrap();
    assert_eq!(orders.kind(), "semaphore");
    let at = |line| Origin::File {
        path: path.clone(),
        line: Some(line),
    };
    assert_eq!(orders.kind_origin(), Some(&at(6)));
    let rows: Vec<(&str, &str, Origin, bool)> = orders
        .settings()
        .iter()
        .map(|s| (s.key(), s.value(), s.origin().clone(), s.inherited()))
        .collect();
    assert_eq!(
        rows,
        [
            ("max_concurrent", "50", at(7), false),
            ("max_wait", "\"10s\"", at(3), true),
            (
                "max_waiting",
                "12",
                Origin::Env {
                    var: var.to_owned()
                },
                false
            ),
            ("retry_after", "none", Origin::Default, false),
        ]
    );
    assert_eq!(
        orders.config::<SemaphoreConfig>().map(|c| c.max_waiting),
        Some(12)
    );
}

#[test]
fn an_empty_configuration_builds_an_empty_registry() {
    let dir = TempDir::new("empty");
    let yaml = dir.write("empty.yaml", "# nothing yet\n");
    let toml = dir.write("empty.toml", "");
    let registry = builder(&[&yaml, &toml], &[]).build().unwrap();
    assert!(registry.is_empty());
}
