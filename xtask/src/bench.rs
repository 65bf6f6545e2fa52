//! `cargo xtask bench`: every benchmark against its peers in one run, then a report.
//!
//! Runs `cargo bench -p bulkhead-benches` once, so every area's harness runs. Then reads
//! criterion's results (`<target>/criterion/<group>/<bench>/new/benchmark.json` for the
//! names and throughput, `estimates.json` beside it for the median) and the allocation
//! counts the `allocs` harness writes to `<target>/bench/allocs.json` and the samples of
//! paired comparisons under `<target>/bench/paired/`, checks the targets in
//! [`TARGETS`], prints the result and writes `<target>/bench/report.json` and
//! `report.md`.
//!
//! A bench that fails to run makes the command fail; a missed target does not (it is
//! reported with `met: false`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

/// Tells the bench binaries where to write their own results (see `bulkhead-benches`).
const OUT_DIR_ENV: &str = "BULKHEAD_BENCH_DIR";
/// Turns every harness into a smoke run (see `bulkhead-benches`).
const QUICK_ENV: &str = "BULKHEAD_BENCH_QUICK";
/// The CPU the throwaway PostgreSQL cluster runs on, for the PostgreSQL benches to run
/// their client on too (see `bulkhead-benches`).
const PG_CPU_ENV: &str = "BULKHEAD_BENCH_PG_CPU";

/// A benchmark, by criterion group and benchmark name.
type Bench = (&'static str, &'static str);

/// What a target compares.
enum Check {
    /// Median ns/op of `ours` divided by that of `peer` is at most `max`. A throughput
    /// target ("at least k times the peer's calls per second") is the time ratio
    /// `<= 1/k`.
    TimeRatio { ours: Bench, peer: Bench, max: f64 },
    /// The median over the samples of a paired comparison (`paired_loop!` in
    /// `bulkhead-benches`, written to `<target>/bench/paired/<pair>.json`) of ours' time
    /// divided by the peer's in the same sample is at most `max`. Both sides ran in
    /// alternating blocks of the same sample, so a change in the machine's state between
    /// two benchmarks does not decide the comparison.
    PairedRatio { pair: &'static str, max: f64 },
    /// Median ns/op of `ours` minus that of `base` is at most `max_ns`: what a feature
    /// adds to a call ("adds at most 40 ns").
    TimeDiff {
        ours: Bench,
        base: Bench,
        max_ns: f64,
    },
    /// What `ours` adds to `base` divided by what `peer` adds to it is at most `max`:
    /// "the feature costs a tenth of what the peer's way costs", both measured on the
    /// same underlying call.
    OverheadRatio {
        ours: Bench,
        peer: Bench,
        base: Bench,
        max: f64,
    },
    /// Heap allocations per call of a row of the `allocs` group are at most `max`.
    Allocs { name: &'static str, max: f64 },
}

/// One row of the ratio table.
struct Target {
    name: &'static str,
    check: Check,
}

/// Every target the report checks. Add a row per claim; the benches must use the same
/// group and benchmark names.
const TARGETS: &[Target] = &[
    // semaphore
    Target {
        name: "semaphore uncontended: try_acquire+drop vs tower ConcurrencyLimit",
        check: Check::TimeRatio {
            ours: ("uncontended", "ours try_acquire+drop"),
            peer: ("uncontended", "tower ConcurrencyLimit"),
            max: 1.0,
        },
    },
    Target {
        name: "semaphore uncontended: acquire+drop vs tokio acquire+drop",
        check: Check::TimeRatio {
            ours: ("uncontended", "ours acquire+drop"),
            peer: ("uncontended", "tokio acquire+drop"),
            max: 0.7,
        },
    },
    Target {
        name: "semaphore contended: acquire vs tower ConcurrencyLimit (throughput >= 1x)",
        check: Check::TimeRatio {
            ours: ("contended", "ours acquire"),
            peer: ("contended", "tower ConcurrencyLimit"),
            max: 1.0,
        },
    },
    Target {
        name: "semaphore contended: acquire vs tokio acquire (throughput >= 4x)",
        check: Check::TimeRatio {
            ours: ("contended", "ours acquire"),
            peer: ("contended", "tokio acquire"),
            max: 0.25,
        },
    },
    Target {
        name: "semaphore allocs: try_acquire+drop",
        check: Check::Allocs {
            name: "ours try_acquire+drop",
            max: 0.0,
        },
    },
    Target {
        name: "semaphore allocs: acquire+drop",
        check: Check::Allocs {
            name: "ours acquire+drop",
            max: 0.0,
        },
    },
    Target {
        name: "semaphore allocs: execute",
        check: Check::Allocs {
            name: "ours execute",
            max: 0.0,
        },
    },
    // tower
    Target {
        name: "tower: BulkheadLayer vs ConcurrencyLimit",
        check: Check::TimeRatio {
            ours: ("tower", "ours BulkheadLayer"),
            peer: ("tower", "tower ConcurrencyLimit"),
            max: 1.2,
        },
    },
    Target {
        name: "tower allocs: BulkheadLayer",
        check: Check::Allocs {
            name: "ours BulkheadLayer",
            max: 0.0,
        },
    },
    // runtime
    Target {
        name: "runtime dispatch: execute vs raw Handle::spawn + JoinHandle",
        check: Check::PairedRatio {
            pair: "runtime-dispatch.execute",
            max: 1.1,
        },
    },
    Target {
        name: "runtime dispatch: RuntimeLayer vs tower-resilience-executor",
        check: Check::PairedRatio {
            pair: "runtime-dispatch.layer",
            max: 1.1,
        },
    },
    Target {
        name: "runtime dispatch, CPU time: execute vs raw Handle::spawn + JoinHandle",
        check: Check::PairedRatio {
            pair: "runtime-dispatch-cpu.execute",
            max: 1.1,
        },
    },
    Target {
        name: "runtime dispatch, CPU time: RuntimeLayer vs tower-resilience-executor",
        check: Check::PairedRatio {
            pair: "runtime-dispatch-cpu.layer",
            max: 1.1,
        },
    },
    // telemetry
    Target {
        name: "telemetry: metrics observer adds <= 40 ns per call",
        check: Check::TimeDiff {
            ours: ("telemetry", "metrics observer"),
            base: ("telemetry", "no observer"),
            max_ns: 40.0,
        },
    },
    Target {
        name:
            "telemetry: metrics observer's added cost vs the guide's gauge!+info! (>= 10x cheaper)",
        check: Check::OverheadRatio {
            ours: ("telemetry", "metrics observer"),
            peer: ("telemetry", "guide style"),
            base: ("telemetry", "no observer"),
            max: 0.1,
        },
    },
    // connection pools
    Target {
        name: "deadpool: checkout+return through the compartment vs bare deadpool get",
        check: Check::PairedRatio {
            pair: "pool-checkout.deadpool",
            max: 1.15,
        },
    },
    Target {
        name: "bb8: checkout+return through the compartment vs bare bb8 get",
        check: Check::PairedRatio {
            pair: "pool-checkout.bb8",
            max: 1.15,
        },
    },
    Target {
        name: "deadpool-postgres: SELECT 1 through the compartment vs bare deadpool-postgres",
        check: Check::PairedRatio {
            pair: "pool-postgres.deadpool",
            max: 1.05,
        },
    },
    Target {
        name: "bb8-postgres: SELECT 1 through the compartment vs bare bb8-postgres",
        check: Check::PairedRatio {
            pair: "pool-postgres.bb8",
            max: 1.05,
        },
    },
];

const HELP: &str = "\
usage: cargo xtask bench [--quick] [--report-only]

Runs every benchmark against its peers in one `cargo bench -p bulkhead-benches`, prints
the ratio table, and writes target/bench/report.json and target/bench/report.md.

options:
  --quick        smoke run that takes seconds; the report is marked quick
  --report-only  rebuild the report from the results already on disk
";

/// One row of the report.
struct Entry {
    group: String,
    name: String,
    ns_per_op: Option<f64>,
    ops_per_sec: Option<f64>,
    allocs_per_op: Option<f64>,
    /// When the result was written: rows keep the order the benches ran in.
    written: SystemTime,
}

/// One checked target.
struct Outcome {
    name: &'static str,
    compares: String,
    value: Option<f64>,
    target: String,
    met: bool,
    unit: &'static str,
}

/// Runs `cargo xtask bench` with the arguments after `bench`.
pub fn run(args: &[String]) -> crate::Result {
    let mut quick = false;
    let mut report_only = false;
    for arg in args {
        match arg.as_str() {
            "--quick" => quick = true,
            "--report-only" => report_only = true,
            "-h" | "--help" => {
                print!("{HELP}");
                return Ok(());
            }
            other => return Err(format!("unknown option `{other}` for `bench`\n\n{HELP}").into()),
        }
    }

    let root = crate::workspace_root()?;
    let target = crate::target_dir(&root);
    let out = target.join("bench");
    fs::create_dir_all(&out)?;

    let mut failure = None;
    // Results written before this run are stale; the margin covers coarse timestamps.
    let mut since = None;
    if !report_only {
        since = Some(SystemTime::now() - Duration::from_secs(2));
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(&root)
            .args(["bench", "-p", "bulkhead-benches", "--", "--noplot"])
            .env(OUT_DIR_ENV, &out)
            .env(QUICK_ENV, if quick { "1" } else { "0" });
        if quick {
            cmd.arg("--quick");
        }
        // The PostgreSQL benches run against `BULKHEAD_TEST_PG_URL`, or a throwaway
        // cluster when the binaries are installed; without either they are skipped.
        // The cluster and the benches' client share one CPU: the client's CPU time per
        // query depends on where the server's processes run (on this machine about
        // 10 us beside the client, 25 us on the other CPU), and left to the scheduler
        // that placement changes for seconds at a time and differs between two pools.
        let cpu = bench_cpu();
        let server = crate::ci::postgres::provide(&target, false, cpu)?;
        if let Some(url) = server.url() {
            cmd.env(crate::ci::postgres::URL_ENV, url);
        }
        if let (crate::ci::postgres::Server::Throwaway(_), Some(cpu)) = (&server, cpu) {
            cmd.env(PG_CPU_ENV, cpu.to_string());
        }
        eprintln!(
            "running `cargo bench -p bulkhead-benches`{}",
            if quick { " (quick)" } else { "" }
        );
        let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"));
        drop(server);
        let status = status?;
        if !status.success() {
            failure = Some(format!(
                "`cargo bench -p bulkhead-benches` failed ({status})"
            ));
        }
    }

    let mut entries = criterion_entries(&target.join("criterion"), since)?;
    if entries.is_empty() && failure.is_none() {
        failure = Some(format!(
            "no benchmark results found under {}",
            target.join("criterion").display()
        ));
    }
    let allocs_quick = read_allocs(&out.join("allocs.json"), since, &mut entries)?;
    if report_only {
        quick = allocs_quick.unwrap_or(quick);
    }

    let pairs = read_pairs(&out.join("paired"), since)?;
    let outcomes: Vec<Outcome> = TARGETS.iter().map(|t| check(t, &entries, &pairs)).collect();
    let markdown = markdown(&entries, &outcomes, quick);
    fs::write(
        out.join("report.json"),
        report_json(&entries, &outcomes, quick),
    )?;
    fs::write(out.join("report.md"), &markdown)?;

    println!("\n{markdown}");
    println!(
        "wrote {} and {}",
        out.join("report.json").display(),
        out.join("report.md").display()
    );
    let missed = outcomes.iter().filter(|o| !o.met).count();
    if missed > 0 {
        println!(
            "{missed} of {} targets not met (see the table above)",
            outcomes.len()
        );
    } else {
        println!("all {} targets met", outcomes.len());
    }
    match failure {
        Some(f) => Err(f.into()),
        None => Ok(()),
    }
}

/// The CPU for the PostgreSQL benches' server and client: the highest one this process
/// may run on (`Cpus_allowed_list` in `/proc/self/status`), when it may run on more than
/// one and `taskset` can pin processes.
fn bench_cpu() -> Option<usize> {
    let allowed = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let list = status
                .lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))?;
            allowed_cpus(list.trim())
        })
        .unwrap_or_default();
    let taskset = Command::new("taskset")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    match allowed.iter().max() {
        Some(&cpu) if allowed.len() > 1 && taskset => Some(cpu),
        _ => {
            eprintln!(
                "==> postgres: not pinning the benchmark cluster to a CPU ({} CPU(s) \
                 allowed, taskset {}); SELECT 1 figures may switch between two levels",
                allowed.len(),
                if taskset { "found" } else { "missing" }
            );
            None
        }
    }
}

/// The CPUs of a kernel CPU list such as `0-3,6`; `None` when it does not parse.
fn allowed_cpus(list: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in list.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((first, last)) => cpus.extend(first.parse::<usize>().ok()?..=last.parse().ok()?),
            None => cpus.push(part.parse().ok()?),
        }
    }
    Some(cpus)
}

/// When `path` was last written, if it exists and was written since `since` (any time
/// when `None`): results older than this run are stale.
fn written_since(path: &Path, since: Option<SystemTime>) -> Option<SystemTime> {
    let written = fs::metadata(path).and_then(|m| m.modified()).ok()?;
    since
        .is_none_or(|since| written >= since)
        .then_some(written)
}

fn read_json(path: &Path) -> crate::Result<Value> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()).into())
}

/// Every `benchmark.json` in a `new` directory under `dir`.
fn find_benchmarks(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            find_benchmarks(&path, found)?;
        } else if entry.file_name() == "benchmark.json"
            && path
                .parent()
                .and_then(Path::file_name)
                .is_some_and(|n| n == "new")
        {
            found.push(path);
        }
    }
    Ok(())
}

/// The criterion results written since `since` (all of them when `None`), in the order
/// they were written.
fn criterion_entries(dir: &Path, since: Option<SystemTime>) -> crate::Result<Vec<Entry>> {
    let mut found = Vec::new();
    if dir.is_dir() {
        find_benchmarks(dir, &mut found)?;
    }
    let mut entries = Vec::new();
    for benchmark in found {
        let estimates = benchmark.with_file_name("estimates.json");
        let Some(written) = written_since(&estimates, since) else {
            continue;
        };
        let id = read_json(&benchmark)?;
        let median = read_json(&estimates)?["median"]["point_estimate"]
            .as_f64()
            .ok_or_else(|| format!("{}: no median", estimates.display()))?;
        let group = id["group_id"].as_str().unwrap_or_default().to_string();
        let name = match (id["function_id"].as_str(), id["value_str"].as_str()) {
            (Some(f), Some(v)) => format!("{f}/{v}"),
            (Some(f), None) => f.to_string(),
            (None, Some(v)) => v.to_string(),
            (None, None) => String::new(),
        };
        // A benchmark that makes many calls per iteration declares them as its
        // throughput in elements.
        let calls = id["throughput"]["Elements"]
            .as_f64()
            .unwrap_or(1.0)
            .max(1.0);
        let ns_per_op = median / calls;
        entries.push(Entry {
            group,
            name,
            ns_per_op: Some(ns_per_op),
            ops_per_sec: (ns_per_op > 0.0).then(|| 1e9 / ns_per_op),
            allocs_per_op: None,
            written,
        });
    }
    entries.sort_by_key(|e| e.written);
    Ok(entries)
}

/// Adds the rows of `allocs.json` (when written since `since`) as the `allocs` group and
/// fills `allocs_per_op` of the timed rows they accompany. Returns whether that run was
/// quick, when known.
fn read_allocs(
    path: &Path,
    since: Option<SystemTime>,
    entries: &mut Vec<Entry>,
) -> crate::Result<Option<bool>> {
    let Some(written) = written_since(path, since) else {
        return Ok(None);
    };
    let report = read_json(path)?;
    for row in report["entries"].as_array().into_iter().flatten() {
        let allocs = row["allocs_per_op"].as_f64();
        // The timed benchmarks (`group/name`) that do the same work.
        let benches: Vec<&str> = row["benches"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for timed in entries.iter_mut() {
            if benches.contains(&format!("{}/{}", timed.group, timed.name).as_str()) {
                timed.allocs_per_op = allocs;
            }
        }
        entries.push(Entry {
            group: row["group"].as_str().unwrap_or("allocs").to_string(),
            name: row["name"].as_str().unwrap_or_default().to_string(),
            ns_per_op: None,
            ops_per_sec: None,
            allocs_per_op: allocs,
            written,
        });
    }
    Ok(report["quick"].as_bool())
}

/// The ours/peer ratio of every sample of each paired comparison whose file was written
/// since `since` (all when `None`), by pair name.
fn read_pairs(dir: &Path, since: Option<SystemTime>) -> crate::Result<BTreeMap<String, Vec<f64>>> {
    let mut pairs = BTreeMap::new();
    if !dir.is_dir() {
        return Ok(pairs);
    }
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        if written_since(&path, since).is_none() {
            continue;
        }
        let file = read_json(&path)?;
        let pair = file["pair"]
            .as_str()
            .ok_or_else(|| format!("{}: no pair name", path.display()))?;
        let ratios = file["samples"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|sample| Some((sample[0].as_f64()?, sample[1].as_f64()?)))
            .filter(|&(_, peer)| peer > 0.0)
            .map(|(ours, peer)| ours / peer)
            .collect();
        pairs.insert(pair.to_string(), ratios);
    }
    Ok(pairs)
}

/// The median of `values`, `None` when there are none.
fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

fn find<'a>(entries: &'a [Entry], group: &str, name: &str) -> Option<&'a Entry> {
    entries.iter().find(|e| e.group == group && e.name == name)
}

fn check(target: &Target, entries: &[Entry], pairs: &BTreeMap<String, Vec<f64>>) -> Outcome {
    match target.check {
        Check::PairedRatio { pair, max } => {
            let ratios = pairs.get(pair).map(Vec::as_slice).unwrap_or_default();
            let value = median(ratios);
            Outcome {
                name: target.name,
                compares: format!(
                    "paired/{pair}: median of ours/peer over {} samples",
                    ratios.len()
                ),
                value,
                target: format!("<= {max:.2}x"),
                met: value.is_some_and(|v| v <= max),
                unit: "x",
            }
        }
        Check::TimeRatio { ours, peer, max } => {
            let ns = |(group, name): Bench| find(entries, group, name).and_then(|e| e.ns_per_op);
            let value = match (ns(ours), ns(peer)) {
                (Some(o), Some(p)) if p > 0.0 => Some(o / p),
                _ => None,
            };
            Outcome {
                name: target.name,
                compares: format!("{}/{} vs {}/{}", ours.0, ours.1, peer.0, peer.1),
                value,
                target: format!("<= {max:.2}x"),
                met: value.is_some_and(|v| v <= max),
                unit: "x",
            }
        }
        Check::TimeDiff { ours, base, max_ns } => {
            let ns = |(group, name): Bench| find(entries, group, name).and_then(|e| e.ns_per_op);
            let value = match (ns(ours), ns(base)) {
                (Some(o), Some(b)) => Some(o - b),
                _ => None,
            };
            Outcome {
                name: target.name,
                compares: format!("{}/{} - {}/{}", ours.0, ours.1, base.0, base.1),
                value,
                target: format!("<= {max_ns:.0} ns"),
                met: value.is_some_and(|v| v <= max_ns),
                unit: "ns",
            }
        }
        Check::OverheadRatio {
            ours,
            peer,
            base,
            max,
        } => {
            let ns = |(group, name): Bench| find(entries, group, name).and_then(|e| e.ns_per_op);
            let value = match (ns(ours), ns(peer), ns(base)) {
                (Some(o), Some(p), Some(b)) if p > b => Some((o - b) / (p - b)),
                _ => None,
            };
            Outcome {
                name: target.name,
                compares: format!(
                    "({}/{} - {}/{}) / ({}/{} - {}/{})",
                    ours.0, ours.1, base.0, base.1, peer.0, peer.1, base.0, base.1
                ),
                value,
                target: format!("<= {max:.2}x"),
                met: value.is_some_and(|v| v <= max),
                unit: "x",
            }
        }
        Check::Allocs { name, max } => {
            let value = find(entries, "allocs", name).and_then(|e| e.allocs_per_op);
            Outcome {
                name: target.name,
                compares: format!("allocs/{name}"),
                value,
                target: if max == 0.0 {
                    "== 0 allocs/op".to_string()
                } else {
                    format!("<= {max} allocs/op")
                },
                met: value.is_some_and(|v| v <= max),
                unit: "",
            }
        }
    }
}

fn report_json(entries: &[Entry], outcomes: &[Outcome], quick: bool) -> String {
    let entries: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!({
                "group": e.group,
                "name": e.name,
                "ns_per_op": e.ns_per_op,
                "ops_per_sec": e.ops_per_sec,
                "allocs_per_op": e.allocs_per_op,
            })
        })
        .collect();
    let ratios: Vec<Value> = outcomes
        .iter()
        .map(|o| {
            json!({
                "name": o.name,
                "compares": o.compares,
                "value": o.value,
                "target": o.target,
                "met": o.met,
            })
        })
        .collect();
    let report = json!({ "quick": quick, "entries": entries, "ratios": ratios });
    let mut text = serde_json::to_string_pretty(&report).unwrap_or_default();
    text.push('\n');
    text
}

fn fmt_ns(ns: Option<f64>) -> String {
    match ns {
        None => "-".into(),
        Some(ns) if ns >= 10_000.0 => format!("{ns:.0}"),
        Some(ns) => format!("{ns:.1}"),
    }
}

fn fmt_rate(ops: Option<f64>) -> String {
    match ops {
        None => "-".into(),
        Some(r) if r >= 1e9 => format!("{:.2} G", r / 1e9),
        Some(r) if r >= 1e6 => format!("{:.2} M", r / 1e6),
        Some(r) if r >= 1e3 => format!("{:.1} k", r / 1e3),
        Some(r) => format!("{r:.0}"),
    }
}

fn fmt_allocs(allocs: Option<f64>) -> String {
    match allocs {
        None => "-".into(),
        Some(a) if a == a.trunc() => format!("{a:.0}"),
        Some(a) => format!("{a:.2}"),
    }
}

fn markdown(entries: &[Entry], outcomes: &[Outcome], quick: bool) -> String {
    let mut md = String::from("# Benchmark report\n\n");
    if quick {
        md.push_str("Quick smoke run: the numbers are rough, only the report's shape is real.\n\n");
    }
    md.push_str(
        "Medians from criterion. ns/op divides by the calls per iteration where a benchmark \
         makes many (the contended group); ops/s is its inverse.\n",
    );
    let mut groups: Vec<&str> = Vec::new();
    for e in entries {
        if !groups.contains(&e.group.as_str()) {
            groups.push(&e.group);
        }
    }
    for group in groups {
        let _ = write!(
            md,
            "\n## {group}\n\n| benchmark | ns/op | ops/s | allocs/op |\n|---|---:|---:|---:|\n"
        );
        for e in entries.iter().filter(|e| e.group == group) {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                e.name,
                fmt_ns(e.ns_per_op),
                fmt_rate(e.ops_per_sec),
                fmt_allocs(e.allocs_per_op)
            );
        }
    }
    md.push_str("\n## Targets\n\n| target | value | goal | met |\n|---|---:|---|---|\n");
    for o in outcomes {
        let value = match o.value {
            None => "missing".to_string(),
            Some(v) if o.unit == "x" => format!("{v:.2}x"),
            Some(v) if o.unit == "ns" => format!("{v:+.1} ns"),
            Some(v) => fmt_allocs(Some(v)),
        };
        let met = if o.met { "yes" } else { "**NO**" };
        let _ = writeln!(md, "| {} | {value} | {} | {met} |", o.name, o.target);
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_cpu_lists_parse() {
        assert_eq!(allowed_cpus("0-1"), Some(vec![0, 1]));
        assert_eq!(allowed_cpus("0,2-4,7"), Some(vec![0, 2, 3, 4, 7]));
        assert_eq!(allowed_cpus("3"), Some(vec![3]));
        assert_eq!(allowed_cpus("0-x"), None);
    }

    #[test]
    fn the_median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn a_paired_target_is_judged_on_the_median_ratio_of_its_samples() {
        let dir = std::env::temp_dir().join(format!("bulkhead-paired-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let samples = json!({
            "pair": "pool-checkout.bb8",
            // Ratios 1.1, 1.3 and 1.12: the slow sample does not decide.
            "samples": [[110.0, 100.0], [260.0, 200.0], [112.0, 100.0]],
        });
        fs::write(dir.join("pool-checkout.bb8.json"), samples.to_string()).unwrap();
        let pairs = read_pairs(&dir, None).unwrap();
        fs::remove_dir_all(&dir).unwrap();

        let target = |max| Target {
            name: "bb8",
            check: Check::PairedRatio {
                pair: "pool-checkout.bb8",
                max,
            },
        };
        let met = check(&target(1.15), &[], &pairs);
        assert!(met.met);
        assert!((met.value.unwrap() - 1.12).abs() < 1e-9);
        assert!(met.compares.contains("over 3 samples"));
        assert!(!check(&target(1.10), &[], &pairs).met);

        let missing = Target {
            name: "none",
            check: Check::PairedRatio {
                pair: "not-run",
                max: 2.0,
            },
        };
        let outcome = check(&missing, &[], &pairs);
        assert_eq!((outcome.value, outcome.met), (None, false));
    }
}
