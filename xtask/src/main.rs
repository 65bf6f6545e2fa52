//! Project automation. Run `cargo xtask help`.
//!
//! Each command lives in its own module; `main` only parses the command name and
//! dispatches.

mod bench;
mod ci;
mod demo;

use std::process::ExitCode;

/// What every command returns.
type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

const HELP: &str = "\
usage: cargo xtask <command> [options]

commands:
  ci [STEP...]
      fmt check, clippy -D warnings, the whole test suite, loom model checks, and
      docs with warnings denied; or only the steps named (fmt clippy test loom doc).
  bench [--quick] [--report-only]
      Run every benchmark against its peers in one `cargo bench -p bulkhead-benches`,
      print the ratio table, and write target/bench/report.json and report.md.
        --quick        smoke run that takes seconds; the report is marked quick
        --report-only  rebuild the report from the last run's results
  demo [--quick] [--out DIR] [--check]
      The isolation experiment: build the example microservice in release, drive
      open-loop load on its user, order and payment routes while the payment
      provider hangs, with compartments and with one shared compartment; print p50/
      p99 latency, success and rejections per mode, phase and route, and write
      target/demo/report.json and isolation.svg.
        --quick    3 s phases instead of 10 s
        --out DIR  write the report, chart and service logs there
        --check    fail when the headline does not hold
  help
      Print this help.
";

/// The workspace root: the parent of this package's manifest directory.
fn workspace_root() -> Result<std::path::PathBuf> {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    Ok(manifest
        .parent()
        .ok_or("xtask has no parent directory")?
        .to_path_buf())
}

/// Cargo's target directory, as `cargo metadata` reports it (which also honours
/// `CARGO_TARGET_DIR` and `build.target-dir`); `<root>/target` if that fails.
fn target_dir(root: &std::path::Path) -> std::path::PathBuf {
    use std::path::PathBuf;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    std::process::Command::new(cargo)
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok())
        .and_then(|v| v["target_directory"].as_str().map(PathBuf::from))
        .or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from))
        .unwrap_or_else(|| root.join("target"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((command, rest)) => (command.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match command {
        "ci" => workspace_root().and_then(|root| Ok(ci::run(&root, rest)?)),
        "bench" => bench::run(rest),
        "demo" => demo::run(rest),
        "help" | "-h" | "--help" => {
            print!("{HELP}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`; run `cargo xtask help`").into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
