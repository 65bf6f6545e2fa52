//! `bulkhead check`: exit codes and output.
// The guide's configuration uses both built-in kinds.
#![cfg(all(feature = "semaphore", feature = "runtime"))]
#![cfg(feature = "semaphore")]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::TempDir;

fn guide_config() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/bulkhead.yaml")
}

/// The binary, with no `BULKHEAD_*` variable from the test's own environment.
fn bulkhead(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bulkhead"));
    command.current_dir(dir);
    for (name, _) in std::env::vars_os() {
        if name
            .to_string_lossy()
            .to_ascii_uppercase()
            .starts_with("BULKHEAD_")
        {
            command.env_remove(name);
        }
    }
    command
}

fn run(command: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("the binary runs");
    (
        status.code().expect("exited normally"),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

#[test]
fn check_exits_0_and_prints_the_guides_compartments() {
    let dir = TempDir::new("check-guide");
    let (code, out, err) = run(bulkhead(dir.path()).arg("check").arg(guide_config()));
    assert_eq!(code, 0, "stderr: {err}");
    assert!(err.is_empty(), "{err}");
    assert!(out.starts_with("valid: 6 compartments from "), "{out}");
    for (name, workers) in [
        ("user-service", 8),
        ("order-service", 4),
        ("payment-service", 2),
    ] {
        assert!(
            out.contains(&format!("\n{name}  kind = \"runtime\"  (")),
            "{out}"
        );
        assert!(
            out.lines()
                .any(|l| l.trim_start().starts_with("worker_threads")
                    && l.contains(&format!("= {workers} "))
                    && l.contains("bulkhead.yaml:")),
            "{out}"
        );
    }
    for (name, limit) in [("user-api", 100), ("order-api", 50), ("payment-api", 20)] {
        assert!(
            out.contains(&format!("\n{name}  kind = \"semaphore\"  (")),
            "{out}"
        );
        assert!(
            out.lines()
                .any(|l| l.trim_start().starts_with("max_concurrent")
                    && l.contains(&format!("= {limit} "))
                    && l.contains("bulkhead.yaml:")),
            "{name} {limit}: {out}"
        );
    }
    let wait = out
        .lines()
        .find(|l| l.trim_start().starts_with("max_wait "))
        .unwrap();
    assert!(wait.contains("\"10s\""), "{wait}");
    assert!(wait.contains("bulkhead.yaml:"), "{wait}");
    assert!(wait.ends_with(" (defaults.semaphore)"), "{wait}");
    assert!(out.contains("built-in default"), "{out}");
}

#[test]
fn check_prints_environment_overrides_with_the_variable() {
    let dir = TempDir::new("check-env");
    let var = "BULKHEAD_COMPARTMENTS__PAYMENT_API__MAX_CONCURRENT";
    let (code, out, err) = run(bulkhead(dir.path())
        .args(["check"])
        .arg(guide_config())
        .env(var, "30"));
    assert_eq!(code, 0, "stderr: {err}");
    let line = out
        .lines()
        .find(|l| l.contains(var))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("max_concurrent = 30"), "{line}");
    assert!(
        line.ends_with(&format!("environment variable {var}")),
        "{line}"
    );

    let (code, out, _) = run(bulkhead(dir.path())
        .args(["check", "--no-env"])
        .arg(guide_config())
        .env(var, "30"));
    assert_eq!(code, 0);
    assert!(!out.contains(var), "--no-env ignores the variable: {out}");
}

#[test]
fn check_exits_1_and_prints_every_problem_on_stderr() {
    let dir = TempDir::new("check-invalid");
    dir.write(
        "bad.toml",
        "[compartments.orders]\nkind = \"semaphore\"\nmax_concurrent = 0\nmax_wiat = \"1s\"\n\n[compartments.reports]\nkind = \"cron\"\n",
    );
    let (code, out, err) = run(bulkhead(dir.path()).args(["check", "bad.toml"]));
    assert_eq!(code, 1, "stdout: {out}");
    assert!(out.is_empty(), "{out}");
    let lines: Vec<&str> = err.lines().collect();
    // Every kind the enabled features register, as the binary lists them.
    let known: Vec<String> = bulkhead_registry::Registry::builder()
        .kinds()
        .iter()
        .map(|kind| format!("`{kind}`"))
        .collect();
    let unknown_kind = format!(
        "error: bad.toml:7: compartment `reports`: `kind` names an unknown kind `cron`; known kinds: {}",
        known.join(", ")
    );
    assert_eq!(
        lines,
        [
            "error: bad.toml:4: compartment `orders`: `max_wiat` is not a setting of kind `semaphore`; expected one of `max_concurrent`, `max_wait`, `max_waiting`, `retry_after`",
            "error: bad.toml:3: compartment `orders`: `max_concurrent` must be at least 1 (got 0)",
            unknown_kind.as_str(),
            "3 problems; nothing would be built",
        ]
    );
}

#[test]
fn check_exits_1_for_a_file_that_cannot_be_read() {
    let dir = TempDir::new("check-missing");
    let (code, _, err) = run(bulkhead(dir.path()).args(["check", "nowhere.yaml"]));
    assert_eq!(code, 1);
    assert!(
        err.starts_with("error: nowhere.yaml: does not exist\n"),
        "{err}"
    );
}

#[test]
fn check_exits_2_on_a_usage_error() {
    let dir = TempDir::new("check-usage");
    for args in [&[][..], &["frobnicate"][..], &["check", "--verbose"][..]] {
        let (code, out, err) = run(bulkhead(dir.path()).args(args));
        assert_eq!(code, 2, "{args:?}");
        assert!(out.is_empty());
        assert!(err.contains("usage: bulkhead check"), "{err}");
    }
    let (code, out, _) = run(bulkhead(dir.path()).arg("--help"));
    assert_eq!(code, 0);
    assert!(out.starts_with("usage: bulkhead check"), "{out}");
}

#[test]
fn check_without_files_reads_bulkhead_toml_in_the_current_directory() {
    let dir = TempDir::new("check-discover");
    dir.write(
        "bulkhead.toml",
        "[compartments.local]\nkind = \"semaphore\"\nmax_concurrent = 4\n",
    );
    let (code, out, err) = run(bulkhead(dir.path()).arg("check"));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("valid: 1 compartment from bulkhead.toml"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.contains("max_concurrent = 4 ") && l.ends_with("  bulkhead.toml:3")),
        "{out}"
    );

    let named = dir.write(
        "other.yaml",
        "compartments:\n  named:\n    kind: semaphore\n",
    );
    let (code, out, _) = run(bulkhead(dir.path())
        .arg("check")
        .env("BULKHEAD_CONFIG", &named));
    assert_eq!(code, 0);
    assert!(out.contains("\nnamed  kind"), "BULKHEAD_CONFIG wins: {out}");
}

#[test]
fn check_without_any_file_is_an_error() {
    let dir = TempDir::new("check-nothing");
    let (code, _, err) = run(bulkhead(dir.path()).arg("check"));
    assert_eq!(code, 1);
    assert!(err.starts_with("error: no configuration file"), "{err}");
}
