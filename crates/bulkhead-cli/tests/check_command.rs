//! `bulkhead check`: exit codes and output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A folder of its own per test, removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("bulkhead-cli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("a temporary file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

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

#[test]
fn check_validates_a_postgres_compartment_offline_and_hides_its_password() {
    let dir = TempDir::new("check-pg");
    // Nothing listens on port 1: checking builds nothing and connects to nothing.
    let path = dir.write(
        "bulkhead.toml",
        "[compartments.db]\nkind = \"postgres\"\n\
         connection.url = \"postgres://app:s3cret@127.0.0.1:1/app\"\n\
         read.max_size = 2\nread.read_only = true\nwrite.max_size = 1\n",
    );
    let (code, out, err) = run(bulkhead(dir.path()).args(["check", "--no-env"]).arg(&path));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("\ndb  kind = \"postgres\""), "{out}");
    assert!(out.contains("app:<hidden>@127.0.0.1"), "{out}");
    assert!(!out.contains("s3cret"), "{out}");
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("read.max_size"))
        .expect("read.max_size is shown");
    assert!(line.ends_with(&format!("{}:4", path.display())), "{line}");
}

#[test]
fn check_knows_every_built_in_kind() {
    let dir = TempDir::new("check-kinds");
    let path = dir.write(
        "bulkhead.toml",
        "[compartments.x]\nkind = \"no-such-kind\"\n",
    );
    let (code, _, err) = run(bulkhead(dir.path()).args(["check", "--no-env"]).arg(&path));
    assert_eq!(code, 1, "{err}");
    for kind in ["`bb8-postgres`", "`postgres`", "`runtime`", "`semaphore`"] {
        assert!(err.contains(kind), "{kind} missing from: {err}");
    }
}
