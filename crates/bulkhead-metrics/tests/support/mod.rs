//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

use bulkhead_core::{Compartment, CompartmentInfo, Stats};

/// Environment variable that turns a missing promtool into a failure (CI sets it).
pub const REQUIRE_PROMTOOL: &str = "BULKHEAD_REQUIRE_PROMTOOL";

/// The promtool binary, if installed. Without it the calling test skips loudly, or
/// fails when `BULKHEAD_REQUIRE_PROMTOOL=1`.
pub fn promtool() -> Option<&'static str> {
    let found = Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some("promtool");
    }
    let required = std::env::var(REQUIRE_PROMTOOL).is_ok_and(|v| v == "1");
    assert!(
        !required,
        "promtool is not installed and {REQUIRE_PROMTOOL}=1: install Debian's `prometheus` package"
    );
    eprintln!(
        "SKIPPED: promtool is not installed (Debian package `prometheus`); \
         set {REQUIRE_PROMTOOL}=1 to make this a failure"
    );
    None
}

/// Runs promtool with `args`, feeding `stdin`.
pub fn run_promtool(args: &[&str], stdin: Option<&str>, dir: Option<&Path>) -> Output {
    let mut cmd = Command::new("promtool");
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    let mut child = cmd.spawn().expect("promtool runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(input.as_bytes())
            .expect("promtool reads its input");
    }
    child.wait_with_output().expect("promtool finishes")
}

/// Asserts promtool succeeded, showing what it said otherwise.
pub fn assert_success(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The workspace's `docs/` directory.
pub fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

/// A compartment of any kind whose stats the test sets: stands in for the runtime and
/// pool kinds, which report through the same trait.
pub struct Scripted {
    info: CompartmentInfo,
    stats: Mutex<Stats>,
}

impl Scripted {
    pub fn new(name: &str, kind: &'static str, stats: Stats) -> Self {
        Scripted {
            info: CompartmentInfo::new(name, kind),
            stats: Mutex::new(stats),
        }
    }

    pub fn set(&self, stats: Stats) {
        *self.stats.lock().unwrap() = stats;
    }
}

impl Compartment for Scripted {
    fn info(&self) -> &CompartmentInfo {
        &self.info
    }

    fn stats(&self) -> Stats {
        *self.stats.lock().unwrap()
    }

    fn close(&self) {
        self.stats.lock().unwrap().closed = true;
    }

    fn is_closed(&self) -> bool {
        self.stats.lock().unwrap().closed
    }
}

/// Stats with the given occupancy and counters.
#[allow(clippy::field_reassign_with_default)] // `Stats` is non-exhaustive
pub fn stats(capacity: usize, in_use: usize, admitted: u64, rejected_full: u64) -> Stats {
    let mut s = Stats::default();
    s.capacity = capacity;
    s.target_capacity = capacity;
    s.in_use = in_use;
    s.admitted = admitted;
    s.rejected.full = rejected_full;
    s.completed = admitted - in_use as u64;
    s
}

/// The samples of a Prometheus text exposition: `(series, value)`, where `series` is
/// the name with its labels as written.
pub fn samples(page: &str) -> Vec<(String, f64)> {
    page.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("`series value`");
            (series.to_owned(), value.parse().expect("a number"))
        })
        .collect()
}

/// The value of one series of the exposition.
pub fn value(page: &str, series: &str) -> Option<f64> {
    samples(page)
        .into_iter()
        .find(|(s, _)| s == series)
        .map(|(_, v)| v)
}
