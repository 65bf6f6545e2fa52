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
    ("test", "the whole test suite, doc tests included"),
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
            "test" => cargo(root, &["test", "--workspace", "--all-features"], &[])?,
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
