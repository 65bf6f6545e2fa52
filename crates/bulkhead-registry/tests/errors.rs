//! Every class of mistake is refused with the compartment, the key and the source.
#![cfg(feature = "semaphore")]

mod support;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bulkhead_registry::{Origin, ProblemKind, Registry};
use support::{builder, problem_about, problems, ProbePlugin, TempDir};

fn file_at(path: &std::path::Path, line: usize) -> Option<Origin> {
    Some(Origin::File {
        path: path.to_owned(),
        line: Some(line),
    })
}

#[test]
fn an_unreadable_file_is_named_with_its_path() {
    let dir = TempDir::new("missing");
    let path = dir.path().join("absent.yaml");
    let found = problems(builder(&[&path], &[]).build());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].kind(), ProblemKind::UnreadableFile);
    assert_eq!(
        found[0].origin().and_then(Origin::path),
        Some(path.as_path())
    );
    assert_eq!(
        found[0].to_string(),
        format!("{}: does not exist", path.display())
    );
}

#[test]
fn a_file_with_an_unsupported_extension_is_refused() {
    let dir = TempDir::new("extension");
    let path = dir.write("bulkhead.json", "{}");
    let found = problems(builder(&[&path], &[]).build());
    assert_eq!(found[0].kind(), ProblemKind::UnreadableFile);
    assert!(
        found[0]
            .to_string()
            .contains("bulkhead.json: has an unsupported extension"),
        "{}",
        found[0]
    );
}

#[test]
fn malformed_yaml_is_reported_with_its_line() {
    let dir = TempDir::new("yaml");
    let path = dir.write(
        "bulkhead.yaml",
        "compartments:\n  orders:\n    kind: semaphore\n   max_concurrent: 5\n",
    );
    let found = problems(builder(&[&path], &[]).build());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].kind(), ProblemKind::MalformedFile);
    assert_eq!(found[0].origin(), file_at(&path, 4).as_ref());
    assert!(
        found[0].message().starts_with("is not valid YAML"),
        "{}",
        found[0]
    );
}

#[test]
fn malformed_toml_is_reported_with_its_line() {
    let dir = TempDir::new("toml");
    let path = dir.write(
        "bulkhead.toml",
        "[compartments.orders]\nkind = \"semaphore\"\nmax_concurrent = \n",
    );
    let found = problems(builder(&[&path], &[]).build());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].kind(), ProblemKind::MalformedFile);
    assert_eq!(found[0].origin(), file_at(&path, 3).as_ref());
    assert!(!found[0].message().contains('\n'), "{}", found[0]);
}

#[test]
fn every_unreadable_or_malformed_file_is_reported_together() {
    let dir = TempDir::new("files");
    let good = dir.write("good.toml", "[compartments.a]\nkind = \"semaphore\"\n");
    let bad_yaml = dir.write("bad.yaml", "compartments: [\n");
    let bad_toml = dir.write("bad.toml", "[compartments\n");
    let missing = dir.path().join("missing.toml");
    let found = problems(builder(&[&good, &bad_yaml, &bad_toml, &missing], &[]).build());
    let files: Vec<_> = found
        .iter()
        .map(|p| p.origin().and_then(Origin::path).map(|p| p.to_owned()))
        .collect();
    assert_eq!(files, [Some(bad_yaml), Some(bad_toml), Some(missing)]);
}

#[test]
fn an_unknown_key_is_named_with_its_file_and_line() {
    let dir = TempDir::new("unknown-key");
    let path = dir.write(
        "bulkhead.yaml",
        "compartments:\n  orders:\n    kind: semaphore\n    max_concurent: 5\n",
    );
    let found = problems(builder(&[&path], &[]).build());
    let problem = problem_about(&found, Some("orders"), "max_concurent");
    assert_eq!(problem.kind(), ProblemKind::UnknownKey);
    assert_eq!(problem.origin(), file_at(&path, 4).as_ref());
    assert_eq!(
        problem.to_string(),
        format!(
            "{}:4: compartment `orders`: `max_concurent` is not a setting of kind `semaphore`; \
             expected one of `max_concurrent`, `max_wait`, `max_waiting`, `retry_after`",
            path.display()
        )
    );
}

#[test]
fn an_unknown_top_level_key_is_refused() {
    let dir = TempDir::new("top-level");
    let path = dir.write(
        "bulkhead.toml",
        "[compartment.orders]\nkind = \"semaphore\"\n",
    );
    let found = problems(builder(&[&path], &[]).build());
    let problem = problem_about(&found, None, "compartment");
    assert_eq!(problem.kind(), ProblemKind::UnknownKey);
    assert_eq!(problem.origin(), file_at(&path, 1).as_ref());
    assert!(problem
        .message()
        .contains("expected `defaults` or `compartments`"));
}

#[test]
fn an_unknown_key_in_defaults_names_the_defaults_section() {
    let dir = TempDir::new("defaults-key");
    let path = dir.write(
        "bulkhead.toml",
        "[defaults.semaphore]\nmax_wait = \"1s\"\nmax_in_flight = 3\n",
    );
    let found = problems(builder(&[&path], &[]).build());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].defaults_of(), Some("semaphore"));
    assert_eq!(found[0].key(), Some("max_in_flight"));
    assert_eq!(found[0].origin(), file_at(&path, 3).as_ref());
    assert!(found[0]
        .to_string()
        .contains("`defaults.semaphore`: `max_in_flight` is not a setting"));
}

#[test]
fn an_unknown_kind_lists_the_known_kinds() {
    let dir = TempDir::new("unknown-kind");
    let path = dir.write(
        "bulkhead.yaml",
        "compartments:\n  reports:\n    kind: cron\n    schedule: hourly\n",
    );
    let registry = builder(&[&path], &[]).plugin(ProbePlugin::default());
    let known: Vec<String> = registry.kinds().iter().map(|k| format!("`{k}`")).collect();
    assert!(known.contains(&"`probe`".to_owned()) && known.contains(&"`semaphore`".to_owned()));
    let found = problems(registry.build());
    let problem = problem_about(&found, Some("reports"), "kind");
    assert_eq!(problem.kind(), ProblemKind::UnknownKind);
    assert_eq!(problem.origin(), file_at(&path, 3).as_ref());
    assert_eq!(
        problem.message(),
        format!(
            "names an unknown kind `cron`; known kinds: {}",
            known.join(", ")
        )
    );
}

#[test]
fn an_unknown_kind_in_defaults_is_refused() {
    let dir = TempDir::new("unknown-defaults");
    let path = dir.write("bulkhead.toml", "[defaults.cron]\nschedule = \"hourly\"\n");
    let found = problems(builder(&[&path], &[]).build());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].kind(), ProblemKind::UnknownKind);
    assert_eq!(found[0].defaults_of(), Some("cron"));
    assert!(
        found[0].message().contains("known kinds: ") && found[0].message().contains("`semaphore`")
    );
}

#[test]
fn a_compartment_without_kind_is_refused() {
    let dir = TempDir::new("no-kind");
    let path = dir.write(
        "bulkhead.toml",
        "[compartments.orders]\nmax_concurrent = 5\n",
    );
    let found = problems(builder(&[&path], &[]).build());
    let problem = problem_about(&found, Some("orders"), "kind");
    assert_eq!(problem.kind(), ProblemKind::MissingKind);
    assert_eq!(problem.origin(), file_at(&path, 1).as_ref());
    assert!(
        problem.message().contains("known kinds: ") && problem.message().contains("`semaphore`")
    );
}

#[test]
fn a_wrong_type_names_key_and_line_in_toml() {
    let dir = TempDir::new("wrong-type");
    let path = dir.write(
        "bulkhead.toml",
        "[compartments.orders]\nkind = \"semaphore\"\nmax_concurrent = \"fifty\"\n",
    );
    let found = problems(builder(&[&path], &[]).build());
    let problem = problem_about(&found, Some("orders"), "max_concurrent");
    assert_eq!(problem.kind(), ProblemKind::WrongType);
    assert_eq!(problem.origin(), file_at(&path, 3).as_ref());
    assert_eq!(
        problem.message(),
        "has the wrong type: expected a non-negative integer, found \"fifty\""
    );
}

#[test]
fn a_kind_that_is_not_a_string_is_a_wrong_type() {
    let dir = TempDir::new("kind-type");
    let path = dir.write("bulkhead.toml", "[compartments.orders]\nkind = 3\n");
    let found = problems(builder(&[&path], &[]).build());
    let problem = problem_about(&found, Some("orders"), "kind");
    assert_eq!(problem.kind(), ProblemKind::WrongType);
    assert_eq!(problem.origin(), file_at(&path, 2).as_ref());
}

#[test]
fn a_negative_limit_is_refused() {
    let dir = TempDir::new("negative");
    let path = dir.write(
        "bulkhead.yaml",
        "compartments:\n  orders:\n    kind: semaphore\n    max_waiting: -3\n",
    );
    let found = problems(builder(&[&path], &[]).build());
    let problem = problem_about(&found, Some("orders"), "max_waiting");
    assert_eq!(problem.kind(), ProblemKind::InvalidValue);
    assert_eq!(problem.origin(), file_at(&path, 4).as_ref());
    assert_eq!(problem.message(), "must not be negative (got -3)");
}

#[test]
fn a_zero_limit_is_refused_by_the_kinds_own_validation() {
    let dir = TempDir::new("zero");
    let path = dir.write(
        "bulkhead.yaml",
        "compartments:\n  orders:\n    kind: semaphore\n    max_concurrent: 0\n",
    );
    let found = problems(builder(&[&path], &[]).build());
    let problem = problem_about(&found, Some("orders"), "max_concurrent");
    assert_eq!(problem.kind(), ProblemKind::InvalidValue);
    assert_eq!(
        problem.to_string(),
        format!(
            "{}:4: compartment `orders`: `max_concurrent` must be at least 1 (got 0)",
            path.display()
        )
    );
}

#[test]
fn an_absurd_limit_is_refused() {
    let dir = TempDir::new("absurd");
    let path = dir.write(
        "bulkhead.toml",
        "[compartments.orders]\nkind = \"semaphore\"\nmax_concurrent = 5000000\nmax_wait = \"3days\"\n",
    );
    let found = problems(builder(&[&path], &[]).build());
    let limit = problem_about(&found, Some("orders"), "max_concurrent");
    assert_eq!(limit.origin(), file_at(&path, 3).as_ref());
    assert_eq!(limit.message(), "must be at most 1000000 (got 5000000)");
    let wait = problem_about(&found, Some("orders"), "max_wait");
    assert_eq!(wait.origin(), file_at(&path, 4).as_ref());
    assert!(wait.message().starts_with("must be at most"), "{wait}");
}

#[test]
fn an_unparsable_duration_from_the_environment_names_the_variable() {
    let dir = TempDir::new("env-duration");
    let path = dir.write(
        "bulkhead.toml",
        "[compartments.order-api]\nkind = \"semaphore\"\n",
    );
    let var = "BULKHEAD_COMPARTMENTS__ORDER_API__MAX_WAIT";
    let found = problems(builder(&[&path], &[(var, "soon")]).build());
    let problem = problem_about(&found, Some("order-api"), "max_wait");
    assert_eq!(problem.kind(), ProblemKind::InvalidValue);
    assert_eq!(problem.origin().and_then(Origin::env_var), Some(var));
    assert_eq!(
        problem.to_string(),
        format!(
            "environment variable {var}: compartment `order-api`: `max_wait` is not a duration: \
             found \"soon\"; write it like \"250ms\" or \"10s\""
        )
    );
}

#[test]
fn an_unparsable_duration_in_a_file_names_the_line() {
    let dir = TempDir::new("file-duration");
    let path = dir.write(
        "bulkhead.yaml",
        "defaults:\n  semaphore:\n    max_wait: 10\n",
    );
    let found = problems(builder(&[&path], &[]).build());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].defaults_of(), Some("semaphore"));
    assert_eq!(found[0].key(), Some("max_wait"));
    assert_eq!(found[0].kind(), ProblemKind::WrongType);
    assert_eq!(found[0].origin(), file_at(&path, 3).as_ref());
    assert!(found[0].message().contains("write it like"), "{}", found[0]);
}

#[test]
fn a_bad_default_is_reported_once_not_for_every_compartment() {
    let dir = TempDir::new("bad-default");
    let path = dir.write(
        "bulkhead.yaml",
        "defaults:\n  semaphore:\n    max_concurrent: 0\ncompartments:\n  a:\n    kind: semaphore\n  b:\n    kind: semaphore\n",
    );
    let found = problems(builder(&[&path], &[]).build());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].defaults_of(), Some("semaphore"));
    assert_eq!(found[0].origin(), file_at(&path, 3).as_ref());
}

#[test]
fn an_invalid_compartment_name_is_refused() {
    let dir = TempDir::new("name");
    let path = dir.write(
        "bulkhead.yaml",
        "compartments:\n  \"order api\":\n    kind: semaphore\n",
    );
    let found = problems(builder(&[&path], &[]).build());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].kind(), ProblemKind::InvalidName);
    assert_eq!(found[0].compartment(), Some("order api"));
    assert_eq!(found[0].origin(), file_at(&path, 2).as_ref());
}

#[test]
fn a_variable_matching_two_compartments_is_refused() {
    let dir = TempDir::new("ambiguous");
    let path = dir.write(
        "bulkhead.toml",
        "[compartments.order-api]\nkind = \"semaphore\"\n[compartments.order_api]\nkind = \"semaphore\"\n",
    );
    let var = "BULKHEAD_COMPARTMENTS__ORDER_API__MAX_CONCURRENT";
    let found = problems(builder(&[&path], &[(var, "5")]).build());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].kind(), ProblemKind::InvalidEnvironment);
    assert_eq!(found[0].origin().and_then(Origin::env_var), Some(var));
    assert!(found[0].message().contains("`order-api`, `order_api`"));
}

#[test]
fn a_variable_with_an_empty_segment_is_refused() {
    let var = "BULKHEAD_COMPARTMENTS____MAX_CONCURRENT";
    let found = problems(builder::<&str>(&[], &[(var, "5")]).build());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].kind(), ProblemKind::InvalidEnvironment);
    assert_eq!(found[0].origin().and_then(Origin::env_var), Some(var));
}

#[test]
fn all_problems_are_reported_together_and_nothing_is_built() {
    let dir = TempDir::new("together");
    let path = dir.write(
        "bulkhead.yaml",
        "\
compartments:
  fine:
    kind: probe
  orders:
    kind: semaphore
    max_concurrent: 0
    max_wiat: 1s
    max_waiting: many
  payments:
    kind: cron
  probe:
    kind: probe
    size: 500
",
    );
    let plugin = ProbePlugin::default();
    let observed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = Arc::clone(&observed);
    let found = problems(
        builder(&[&path], &[("BULKHEAD_COMPARTMENTS__FINE__EVERY", "often")])
            .plugin(plugin.clone())
            .observer_factory(move |_| {
                seen.fetch_add(1, Ordering::Relaxed);
                Arc::new(bulkhead_core::NoopObserver)
            })
            .build(),
    );
    let described: Vec<(Option<&str>, Option<&str>)> =
        found.iter().map(|p| (p.compartment(), p.key())).collect();
    assert_eq!(
        described,
        [
            (Some("fine"), Some("every")),
            (Some("orders"), Some("max_waiting")),
            (Some("orders"), Some("max_wiat")),
            (Some("orders"), Some("max_concurrent")),
            (Some("payments"), Some("kind")),
            (Some("probe"), Some("size")),
        ],
        "{found:#?}"
    );
    assert_eq!(plugin.counts.built.load(Ordering::Relaxed), 0);
    assert_eq!(observed.load(Ordering::Relaxed), 0);
}

#[test]
fn a_compartment_that_fails_to_build_closes_the_ones_already_built() {
    let dir = TempDir::new("build-fails");
    let path = dir.write(
        "bulkhead.toml",
        "\
[compartments.a]
kind = \"probe\"
[compartments.b]
kind = \"probe\"
fail_build = true
[compartments.c]
kind = \"probe\"
",
    );
    let plugin = ProbePlugin::default();
    let found = problems(builder(&[&path], &[]).plugin(plugin.clone()).build());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].kind(), ProblemKind::Build);
    assert_eq!(
        found[0].to_string(),
        "compartment `b`: could not be built: the probe refused to start"
    );
    assert_eq!(plugin.counts.built.load(Ordering::Relaxed), 2);
    assert_eq!(plugin.counts.closed.load(Ordering::Relaxed), 2);
}

#[test]
fn load_errors_display_every_problem() {
    let dir = TempDir::new("display");
    let path = dir.write(
        "bulkhead.toml",
        "[compartments.a]\nkind = \"semaphore\"\nmax_concurrent = 0\n[compartments.b]\n",
    );
    let error = builder(&[&path], &[]).build().unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with("invalid bulkhead configuration (2 problems):\n  "),
        "{text}"
    );
    assert!(
        text.contains("compartment `a`: `max_concurrent` must be at least 1"),
        "{text}"
    );
    assert!(
        text.contains("compartment `b`: `kind` is missing"),
        "{text}"
    );
    let _ = Registry::builder();
}
