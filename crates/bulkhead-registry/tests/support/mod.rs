//! Helpers shared by the integration tests: temporary files and a test kind.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bulkhead_core::{Compartment, CompartmentInfo, ConfigError, Stats};
use bulkhead_registry::{
    BoxError, BuildContext, Environment, LoadError, Plugin, Problem, Registry, RegistryBuilder,
    Sources,
};

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "bulkhead-registry-{tag}-{}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `text` to `name` in the directory (replacing it atomically).
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        let tmp = self.0.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A builder reading `files` and exactly `vars`.
pub fn builder<P: AsRef<Path>>(files: &[P], vars: &[(&str, &str)]) -> RegistryBuilder {
    Registry::builder().sources(
        Sources::new()
            .files(files.iter().map(|f| f.as_ref().to_owned()))
            .environment(Environment::from_vars(vars.iter().copied())),
    )
}

/// The problems of a refused configuration.
pub fn problems(result: Result<impl std::fmt::Debug, LoadError>) -> Vec<Problem> {
    result
        .expect_err("the configuration should be refused")
        .into_problems()
}

/// The one problem about `key`, failing with every problem when there is not exactly one.
pub fn problem_about<'a>(
    problems: &'a [Problem],
    compartment: Option<&str>,
    key: &str,
) -> &'a Problem {
    let found: Vec<&Problem> = problems
        .iter()
        .filter(|p| p.key() == Some(key) && p.compartment() == compartment)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one problem about {compartment:?}/{key}, got: {problems:#?}"
    );
    found[0]
}

/// What the test kind counts.
#[derive(Default)]
pub struct ProbeCounts {
    pub built: AtomicUsize,
    pub closed: AtomicUsize,
    pub names: Mutex<Vec<String>>,
}

/// A compartment kind for tests: `size` changes live, `fixed` needs a restart, and
/// `fail_build` makes building fail.
#[derive(Clone, Default)]
pub struct ProbePlugin {
    pub counts: Arc<ProbeCounts>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProbeConfig {
    pub size: u32,
    pub fixed: u32,
    pub fail_build: bool,
    #[serde(with = "humantime_serde")]
    pub every: std::time::Duration,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig {
            size: 1,
            fixed: 0,
            fail_build: false,
            every: std::time::Duration::from_secs(1),
        }
    }
}

pub struct Probe {
    info: CompartmentInfo,
    pub size: AtomicUsize,
    closed: AtomicBool,
    counts: Arc<ProbeCounts>,
}

impl Compartment for Probe {
    fn info(&self) -> &CompartmentInfo {
        &self.info
    }

    #[allow(clippy::field_reassign_with_default)] // `Stats` is non-exhaustive
    fn stats(&self) -> Stats {
        let mut stats = Stats::default();
        stats.capacity = self.size.load(Ordering::Relaxed);
        stats.target_capacity = stats.capacity;
        stats.closed = self.is_closed();
        stats
    }

    fn close(&self) {
        if !self.closed.swap(true, Ordering::Relaxed) {
            self.counts.closed.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }
}

impl Plugin for ProbePlugin {
    type Config = ProbeConfig;
    type Compartment = Probe;

    fn kind(&self) -> &'static str {
        "probe"
    }

    fn problems(&self, config: &ProbeConfig) -> Vec<ConfigError> {
        let mut problems = Vec::new();
        if !(1..=100).contains(&config.size) {
            problems.push(ConfigError::new(
                "size",
                format!("must be between 1 and 100 (got {})", config.size),
            ));
        }
        problems
    }

    fn build(&self, cx: &BuildContext, config: &ProbeConfig) -> Result<Probe, BoxError> {
        if config.fail_build {
            return Err("the probe refused to start".into());
        }
        self.counts.built.fetch_add(1, Ordering::Relaxed);
        self.counts
            .names
            .lock()
            .unwrap()
            .push(cx.info().name().to_owned());
        Ok(Probe {
            info: cx.info().clone(),
            size: AtomicUsize::new(config.size as usize),
            closed: AtomicBool::new(false),
            counts: Arc::clone(&self.counts),
        })
    }

    fn reconfigure(
        &self,
        probe: &Probe,
        running: &ProbeConfig,
        wanted: &ProbeConfig,
    ) -> Result<ProbeConfig, BoxError> {
        probe.size.store(wanted.size as usize, Ordering::Relaxed);
        Ok(ProbeConfig {
            size: wanted.size,
            every: wanted.every,
            ..running.clone()
        })
    }
}
