//! `cargo xtask ci`: everything CI checks, in the order a person would run it.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// The steps, in order, with what each checks. Each can be run alone: `cargo xtask ci clippy test`.
const STEPS: &[(&str, &str)] = &[
    ("fmt", "rustfmt check of the whole workspace"),
    (
        "clippy",
        "clippy on every target and feature, warnings denied",
    ),
    (
        "test",
        "the whole test suite, doc tests included, against PostgreSQL when one is available",
    ),
    ("loom", "loom model checks of the lock-free accounting"),
    ("doc", "rustdoc with warnings denied"),
];

/// Runs the named steps, or all of them.
pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    for arg in args {
        if !STEPS.iter().any(|(name, _)| name == arg) {
            let known: Vec<_> = STEPS.iter().map(|(name, _)| *name).collect();
            return Err(format!(
                "unknown ci step `{arg}`; the steps are: {}",
                known.join(", ")
            ));
        }
    }
    let selected = |step: &str| args.is_empty() || args.iter().any(|a| a == step);
    let started = Instant::now();
    for (step, _) in STEPS {
        if !selected(step) {
            continue;
        }
        let t = Instant::now();
        eprintln!("\n==> ci: {step}");
        match *step {
            "fmt" => cargo(root, &["fmt", "--all", "--", "--check"], &[])?,
            "clippy" => cargo(
                root,
                &[
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--all-features",
                    "--",
                    "-D",
                    "warnings",
                ],
                &[],
            )?,
            "test" => {
                // A throwaway cluster unless one is configured; stopped when `server`
                // is dropped, whether the tests pass or not.
                let server = postgres::provide(&crate::target_dir(root), true, None)?;
                let mut env = Vec::new();
                if let Some(url) = server.url() {
                    env.push((postgres::URL_ENV, url));
                }
                let tested = cargo(root, &["test", "--workspace", "--all-features"], &env);
                drop(server);
                tested?
            }
            "loom" => {
                let target = root.join("target").join("loom");
                cargo(
                    root,
                    &[
                        "test",
                        "--release",
                        "-p",
                        "bulkhead-semaphore",
                        "--lib",
                        "--",
                        "loom_tests",
                    ],
                    &[
                        ("RUSTFLAGS", "--cfg bulkhead_loom"),
                        // Bounded, as tokio bounds its own loom runs: the unbounded
                        // search does not finish in useful time.
                        ("LOOM_MAX_PREEMPTIONS", "3"),
                        ("CARGO_TARGET_DIR", target.to_str().ok_or("target path")?),
                    ],
                )?
            }
            "doc" => cargo(
                root,
                &["doc", "--workspace", "--no-deps", "--all-features"],
                &[("RUSTDOCFLAGS", "-D warnings")],
            )?,
            _ => unreachable!("steps are checked above"),
        }
        eprintln!("==> ci: {step} passed in {:.0?}", t.elapsed());
    }
    eprintln!("\n==> ci: all passed in {:.0?}", started.elapsed());
    Ok(())
}

fn cargo(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("$ cargo {}", args.join(" "));
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root).args(args);
    for (key, value) in env {
        cmd.env(key, value);
    }
    let status = cmd
        .status()
        .map_err(|e| format!("could not run cargo {}: {e}", args.join(" ")))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

/// A PostgreSQL server for the tests and benchmarks: the one named by
/// `BULKHEAD_TEST_PG_URL`, or a throwaway cluster started from the PostgreSQL binaries
/// (`initdb`, `pg_ctl`) into `<target>/pg/run-<pid>`, on a free loopback port, with
/// trust authentication. The cluster is stopped and its folder removed when the
/// `Server` is dropped; folders left by runs that were killed are cleaned up by the
/// next run.
pub(crate) mod postgres {
    use std::fs;
    use std::net::TcpListener;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output};

    /// The URL the PostgreSQL tests and benches connect to.
    pub(crate) const URL_ENV: &str = "BULKHEAD_TEST_PG_URL";
    /// When `1`, the PostgreSQL tests fail instead of skipping without a server.
    pub(crate) const REQUIRE_ENV: &str = "BULKHEAD_REQUIRE_PG";
    /// Where Debian and Ubuntu install the binaries, one folder per major version.
    const DEBIAN_BIN: &str = "/usr/lib/postgresql";

    /// The server the tests get.
    pub(crate) enum Server {
        /// `BULKHEAD_TEST_PG_URL` was set: used as it is.
        External(String),
        /// Started here, stopped on drop.
        Throwaway(Cluster),
        /// No server: the PostgreSQL tests skip.
        Missing,
    }

    impl Server {
        /// The URL to hand to the tests, if there is a server.
        pub(crate) fn url(&self) -> Option<&str> {
            match self {
                Server::External(url) => Some(url),
                Server::Throwaway(cluster) => Some(&cluster.url),
                Server::Missing => None,
            }
        }
    }

    /// Finds or starts a server. Without one, says so loudly; when `required` and
    /// `BULKHEAD_REQUIRE_PG=1`, that is an error. A throwaway cluster started for
    /// benchmarks runs on the CPU `cpu` alone (with `taskset`).
    pub(crate) fn provide(
        target: &Path,
        required: bool,
        cpu: Option<usize>,
    ) -> Result<Server, String> {
        if let Some(url) = std::env::var(URL_ENV).ok().filter(|u| !u.is_empty()) {
            eprintln!("==> postgres: using {URL_ENV} from the environment");
            return Ok(Server::External(url));
        }
        let Some(bin) = find_binaries() else {
            let message = format!(
                "no PostgreSQL binaries (initdb, pg_ctl) under {DEBIAN_BIN}/*/bin or on PATH, \
                 and {URL_ENV} is not set"
            );
            if required && std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1") {
                return Err(format!("{message}; {REQUIRE_ENV}=1 requires PostgreSQL"));
            }
            eprintln!("==> postgres: SKIPPING the PostgreSQL tests: {message}");
            return Ok(Server::Missing);
        };
        Cluster::start(&bin, &target.join("pg"), cpu).map(Server::Throwaway)
    }

    /// The folder holding `initdb` and `pg_ctl`: the newest Debian version folder, else
    /// the one on `PATH`.
    fn find_binaries() -> Option<PathBuf> {
        let mut versions: Vec<(u32, PathBuf)> = fs::read_dir(DEBIAN_BIN)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
                Some((version, entry.path().join("bin")))
            })
            .collect();
        versions.sort();
        let debian = versions.into_iter().rev().map(|(_, bin)| bin);
        let path = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default();
        debian
            .chain(path)
            .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
    }

    /// A throwaway cluster.
    pub(crate) struct Cluster {
        bin: PathBuf,
        dir: PathBuf,
        /// Commands run as the `postgres` user (initdb refuses to run as root).
        as_postgres: bool,
        url: String,
    }

    impl Cluster {
        fn start(bin: &Path, parent: &Path, cpu: Option<usize>) -> Result<Cluster, String> {
            clean_stale(bin, parent);
            let as_postgres = running_as_root();
            let dir = parent.join(format!("run-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            // Dropped on any failure below: stops what was started, removes the folder.
            let mut cluster = Cluster {
                bin: bin.to_path_buf(),
                dir,
                as_postgres,
                url: String::new(),
            };
            if as_postgres {
                cluster.run(
                    Command::new("chown").arg("postgres:").arg(&cluster.dir),
                    "chown the cluster folder to the postgres user",
                )?;
            }
            let data = cluster.dir.join("data");
            cluster.run(
                cluster
                    .pg("initdb")
                    .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
                    .arg("--no-instructions")
                    .arg("-D")
                    .arg(&data),
                "initdb",
            )?;
            let port = free_port()?;
            let options = format!(
                "-p {port} -c listen_addresses=127.0.0.1 -k '{}' -c max_connections=200 \
                 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                cluster.dir.display()
            );
            // The server's processes inherit the postmaster's CPU affinity.
            let mut pg_ctl = match cpu {
                Some(cpu) => {
                    let mut cmd = user_command("taskset", cluster.as_postgres);
                    cmd.args(["-c", &cpu.to_string()])
                        .arg(cluster.bin.join("pg_ctl"));
                    cmd
                }
                None => cluster.pg("pg_ctl"),
            };
            cluster.run(
                pg_ctl
                    .arg("-D")
                    .arg(&data)
                    .arg("-l")
                    .arg(cluster.dir.join("server.log"))
                    .args(["-w", "-t", "60", "-o", &options, "start"]),
                "pg_ctl start",
            )?;
            let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
            eprintln!(
                "==> postgres: throwaway cluster at {url} (folder {})",
                cluster.dir.display()
            );
            cluster.url = url;
            Ok(cluster)
        }

        /// A PostgreSQL binary, run as the `postgres` user when we are root.
        fn pg(&self, name: &str) -> Command {
            pg_command(&self.bin, name, self.as_postgres)
        }

        fn run(&self, cmd: &mut Command, what: &str) -> Result<(), String> {
            let output = cmd
                .output()
                .map_err(|e| format!("could not run {what}: {e}"))?;
            if output.status.success() {
                Ok(())
            } else {
                let log = fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
                Err(format!(
                    "{what} failed ({}):\n{}{}\n{log}",
                    output.status,
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr),
                ))
            }
        }
    }

    impl Drop for Cluster {
        fn drop(&mut self) {
            let data = self.dir.join("data");
            if data.join("postmaster.pid").exists() {
                eprintln!("==> postgres: stopping the throwaway cluster");
                if !stop(&self.bin, &data, self.as_postgres, "fast") {
                    stop(&self.bin, &data, self.as_postgres, "immediate");
                }
            }
            let _ = fs::remove_dir_all(&self.dir);
        }
    }

    fn pg_command(bin: &Path, name: &str, as_postgres: bool) -> Command {
        user_command(bin.join(name), as_postgres)
    }

    /// `program`, run as the `postgres` user when `as_postgres`.
    fn user_command(program: impl AsRef<std::ffi::OsStr>, as_postgres: bool) -> Command {
        if as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(program);
            cmd
        } else {
            Command::new(program)
        }
    }

    fn stop(bin: &Path, data: &Path, as_postgres: bool, mode: &str) -> bool {
        pg_command(bin, "pg_ctl", as_postgres)
            .arg("-D")
            .arg(data)
            .args(["-m", mode, "-w", "-t", "30", "stop"])
            .output()
            .is_ok_and(|o: Output| o.status.success())
    }

    /// Stops and removes clusters whose xtask process is gone (killed before it could
    /// clean up).
    fn clean_stale(bin: &Path, parent: &Path) {
        let Ok(entries) = fs::read_dir(parent) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("run-")) else {
                continue;
            };
            if !Path::new("/proc").is_dir() || Path::new("/proc").join(pid).exists() {
                continue;
            }
            let data = entry.path().join("data");
            if data.join("postmaster.pid").exists() {
                stop(bin, &data, running_as_root(), "immediate");
            }
            let _ = fs::remove_dir_all(entry.path());
        }
    }

    fn running_as_root() -> bool {
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
    }

    fn free_port() -> Result<u16, String> {
        let listener =
            TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
        listener
            .local_addr()
            .map(|a| a.port())
            .map_err(|e| format!("no free port: {e}"))
    }
}
