//! `cargo xtask demo`: the isolation experiment on the example microservice.
//!
//! Builds `bulkhead-example-microservice` in release, then for each mode (`bulkhead`:
//! a compartment per route; `shared`: one compartment of the same size for all
//! routes) starts it on a free loopback port, waits for `/health`, and drives
//! open-loop load at fixed rates on its three API routes through four phases:
//! warm-up (not reported), baseline, payment provider hanging (`POST /admin/faults`),
//! recovery (`DELETE /admin/faults`). Each request is sent on its schedule whatever
//! happened to the earlier ones, has its own client timeout (counted as a failure,
//! and as that long), and its latency is measured from the moment it was due, so a
//! late sender cannot hide a slow service.
//!
//! Prints, per mode, phase and route, p50 and p99 latency, the success ratio and the
//! rejections (503s), judges the headline (with compartments users and orders keep
//! their p99 within 1.5x and 99.9% success while payments fail fast; without them the
//! same fault degrades users and orders), and writes `<out>/report.json` and
//! `<out>/isolation.svg` (default `<target>/demo`). The service is stopped (SIGTERM,
//! then a kill after 15 s) on every path out, errors and panics included.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const HELP: &str = "\
usage: cargo xtask demo [--quick] [--out DIR] [--check]

Builds bulkhead-example-microservice in release and runs the isolation experiment
twice: with a compartment per route (bulkhead.yaml), then with one shared compartment
of the same size (shared.yaml). Open-loop load on the three API routes through
baseline, payment provider hanging, and recovery; prints p50/p99 latency, success
ratio and rejections per mode, phase and route, and writes report.json and
isolation.svg.

  --quick    3 s phases instead of 10 s (for CI); the report is marked quick
  --out DIR  where to write report.json, isolation.svg and the service logs
             (default: <target>/demo)
  --check    fail when the headline does not hold
";

/// The package under test.
const PACKAGE: &str = "bulkhead-example-microservice";

/// How long a latency may grow during the fault, relative to the baseline, for a
/// protected route to count as unharmed.
pub(crate) const MAX_P99_GROWTH: f64 = 1.5;
/// The success ratio a protected route must keep during the fault.
pub(crate) const MIN_SUCCESS: f64 = 0.999;

/// How long the service has to print its address, and to answer `/health`.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the service has to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// With or without compartments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A compartment per route (`bulkhead.yaml`).
    Bulkhead,
    /// One compartment of the same total size for every route (`shared.yaml`).
    Shared,
}

impl Mode {
    pub(crate) const ALL: [Mode; 2] = [Mode::Bulkhead, Mode::Shared];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Mode::Bulkhead => "bulkhead",
            Mode::Shared => "shared",
        }
    }

    /// The service's flag for this mode.
    fn flag(self) -> &'static str {
        match self {
            Mode::Bulkhead => "--bulkhead",
            Mode::Shared => "--shared",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Mode::Bulkhead => "with compartments: user-api 40, order-api 40, payment-api 20 slots",
            Mode::Shared => "without isolation: one shared compartment of 100 slots",
        }
    }
}

/// Load on one route.
#[derive(Debug, Clone)]
pub(crate) struct RouteLoad {
    /// Short name: `users`, `orders`, `payments`.
    pub(crate) name: &'static str,
    /// The route template, as the report names it.
    pub(crate) route: &'static str,
    /// The path before the id.
    pub(crate) prefix: &'static str,
    /// Requests per second, sent on a fixed schedule.
    pub(crate) rate: f64,
}

/// What happens when a phase starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Nothing.
    None,
    /// `POST /admin/faults` with the plan's fault.
    SetFault,
    /// `DELETE /admin/faults`.
    ClearFaults,
}

/// One phase of the experiment, as offsets from the start of the load.
#[derive(Debug, Clone)]
pub(crate) struct Phase {
    pub(crate) name: &'static str,
    pub(crate) start: Duration,
    pub(crate) end: Duration,
    pub(crate) action: Action,
    /// Whether the phase is in the table and the report (the warm-up is not).
    pub(crate) reported: bool,
}

/// The experiment: routes and rates, phases, client timeout, fault.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) routes: Vec<RouteLoad>,
    pub(crate) phases: Vec<Phase>,
    pub(crate) client_timeout: Duration,
    /// The downstream made to hang (`/admin/faults` service name).
    pub(crate) fault_service: &'static str,
    /// The route behind that downstream (index into `routes`).
    pub(crate) fault_route: usize,
    /// How long the downstream takes while the fault is set.
    pub(crate) fault_latency: Duration,
    pub(crate) quick: bool,
}

impl Plan {
    /// The plan with `rate` requests per second on each route, a warm-up of `warmup`,
    /// then baseline, fault and recovery phases of `phase` each.
    pub(crate) fn new(
        rate: f64,
        warmup: Duration,
        phase: Duration,
        client_timeout: Duration,
    ) -> Plan {
        let routes = vec![
            RouteLoad {
                name: "users",
                route: "/api/users/{id}",
                prefix: "/api/users/",
                rate,
            },
            RouteLoad {
                name: "orders",
                route: "/api/orders/{id}",
                prefix: "/api/orders/",
                rate,
            },
            RouteLoad {
                name: "payments",
                route: "/api/payments/{id}",
                prefix: "/api/payments/",
                rate,
            },
        ];
        let mut phases = vec![Phase {
            name: "warmup",
            start: Duration::ZERO,
            end: warmup,
            action: Action::None,
            reported: false,
        }];
        for (name, action) in [
            ("baseline", Action::None),
            ("fault", Action::SetFault),
            ("recovery", Action::ClearFaults),
        ] {
            let start = phases.last().map_or(Duration::ZERO, |p| p.end);
            phases.push(Phase {
                name,
                start,
                end: start + phase,
                action,
                reported: true,
            });
        }
        Plan {
            routes,
            phases,
            client_timeout,
            fault_service: "payment",
            fault_route: 2,
            fault_latency: Duration::from_secs(30),
            quick: false,
        }
    }

    /// The full experiment: 75 requests per second per route, 2 s warm-up, 10 s
    /// phases, 2 s client timeout.
    ///
    /// At that rate the hanging payment calls, each held until its client gives up,
    /// want 150 slots: more than the 100 the service has in all, so that without
    /// isolation they take the whole shared compartment, as a hanging downstream does.
    pub(crate) fn full() -> Plan {
        Plan::new(
            75.0,
            Duration::from_secs(2),
            Duration::from_secs(10),
            Duration::from_secs(2),
        )
    }

    /// The smoke run: the same rates with 3 s phases.
    pub(crate) fn quick() -> Plan {
        Plan {
            quick: true,
            ..Plan::new(
                75.0,
                Duration::from_millis(500),
                Duration::from_secs(3),
                Duration::from_secs(2),
            )
        }
    }

    /// When the last phase ends.
    pub(crate) fn total(&self) -> Duration {
        self.phases.last().map_or(Duration::ZERO, |p| p.end)
    }

    /// The phase whose start sets the fault.
    fn fault_phase(&self) -> Option<&Phase> {
        self.phases.iter().find(|p| p.action == Action::SetFault)
    }

    fn phase(&self, name: &str) -> Option<&Phase> {
        self.phases.iter().find(|p| p.name == name)
    }

    /// The body of `POST /admin/faults`.
    fn fault_body(&self) -> Value {
        json!({
            "service": self.fault_service,
            "latency_ms": millis(self.fault_latency),
            "error_rate": 0.0,
        })
    }
}

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A 2xx answer.
    Ok,
    /// `503 Service Unavailable`: a compartment refused it.
    Rejected,
    /// Another status.
    Failed(u16),
    /// No answer within the client timeout.
    Timeout,
    /// The connection failed.
    Error,
}

/// One request of the load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sample {
    /// Index of the route in the plan.
    pub(crate) route: usize,
    /// When it was due, from the start of the load.
    pub(crate) at: Duration,
    /// From when it was due until it was answered, failed or timed out.
    pub(crate) latency: Duration,
    pub(crate) outcome: Outcome,
}

/// One route in one phase.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RouteSummary {
    pub(crate) route: &'static str,
    pub(crate) requests: usize,
    pub(crate) p50_ms: Option<f64>,
    pub(crate) p99_ms: Option<f64>,
    pub(crate) success_ratio: Option<f64>,
    pub(crate) rejected: usize,
    pub(crate) timeouts: usize,
    pub(crate) errors: usize,
}

/// Every route in one phase.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PhaseSummary {
    pub(crate) phase: &'static str,
    pub(crate) routes: Vec<RouteSummary>,
}

/// One mode's run.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub(crate) mode: Mode,
    pub(crate) samples: Vec<Sample>,
    pub(crate) phases: Vec<PhaseSummary>,
    /// The service's `/bulkheads` after the load.
    pub(crate) bulkheads: Value,
}

impl Run {
    fn route(&self, phase: &str, route: &str) -> Option<&RouteSummary> {
        self.phases
            .iter()
            .find(|p| p.phase == phase)?
            .routes
            .iter()
            .find(|r| r.route == route)
    }
}

struct DemoOptions {
    quick: bool,
    out: Option<PathBuf>,
    check: bool,
}

fn parse(args: &[String]) -> crate::Result<Option<DemoOptions>> {
    let mut options = DemoOptions {
        quick: false,
        out: None,
        check: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--check" => options.check = true,
            "--out" => {
                let dir = args.next().ok_or("`--out` needs a directory")?;
                options.out = Some(PathBuf::from(dir));
            }
            "-h" | "--help" => {
                print!("{HELP}");
                return Ok(None);
            }
            other => {
                return Err(
                    format!("unknown option `{other}` for `cargo xtask demo`; see --help").into(),
                )
            }
        }
    }
    Ok(Some(options))
}

/// Runs `cargo xtask demo`.
pub(crate) fn run(args: &[String]) -> crate::Result {
    let Some(options) = parse(args)? else {
        return Ok(());
    };
    let started = Instant::now();
    let root = crate::workspace_root()?;
    let target = crate::target_dir(&root);
    let out = options.out.unwrap_or_else(|| target.join("demo"));
    fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let plan = if options.quick {
        Plan::quick()
    } else {
        Plan::full()
    };

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    println!("==> cargo build --release -p {PACKAGE}");
    let built = Command::new(&cargo)
        .current_dir(&root)
        .args(["build", "--release", "-p", PACKAGE])
        .status()
        .map_err(|e| format!("could not run {cargo}: {e}"))?;
    if !built.success() {
        return Err(format!("cargo build --release -p {PACKAGE} failed ({built})").into());
    }
    let binary = target
        .join("release")
        .join(format!("{PACKAGE}{}", std::env::consts::EXE_SUFFIX));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the load generator's runtime: {e}"))?;
    let mut runs = Vec::new();
    for mode in Mode::ALL {
        println!(
            "==> {} mode ({}): {} phases, {:.0} requests/s per route",
            mode.as_str(),
            mode.describe(),
            plan.phases
                .iter()
                .map(|p| format!("{} {:.1}s", p.name, (p.end - p.start).as_secs_f64()))
                .collect::<Vec<_>>()
                .join(", "),
            plan.routes[0].rate,
        );
        let log = out.join(format!("{}-service.log", mode.as_str()));
        let mut service = ServiceProcess::start(service_command(&binary, mode), &log)?;
        println!(
            "    service at {} (log: {})",
            service.base_url(),
            log.display()
        );
        let result = runtime.block_on(experiment(service.base_url(), mode, &plan));
        let stopped = service.stop();
        let run = result?;
        match stopped {
            Ok(status) if status.success() => {}
            Ok(status) => eprintln!(
                "    warning: the service exited with {status}; see {}",
                log.display()
            ),
            Err(e) => eprintln!("    warning: {e}"),
        }
        runs.push(run);
    }

    let verdicts = judge(&plan, &runs);
    print!("{}", render_table(&plan, &runs));
    println!();
    print!("{}", render_verdicts(&verdicts));
    let report = report_json(&plan, &runs, &verdicts, started.elapsed());
    let (json_path, svg_path) = write_outputs(&out, &report, &render_svg(&plan, &runs))?;
    println!(
        "\nwrote {} and {} in {:.0} s",
        json_path.display(),
        svg_path.display(),
        started.elapsed().as_secs_f64()
    );
    if options.check && !verdicts.iter().all(|v| v.held) {
        return Err("the headline did not hold (see above)".into());
    }
    Ok(())
}

/// Writes `report.json` and `isolation.svg` into `out`; returns their paths.
pub(crate) fn write_outputs(
    out: &Path,
    report: &Value,
    svg: &str,
) -> crate::Result<(PathBuf, PathBuf)> {
    fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let json_path = out.join("report.json");
    let text = serde_json::to_string_pretty(report)?;
    fs::write(&json_path, text + "\n").map_err(|e| format!("{}: {e}", json_path.display()))?;
    let svg_path = out.join("isolation.svg");
    fs::write(&svg_path, svg).map_err(|e| format!("{}: {e}", svg_path.display()))?;
    Ok((json_path, svg_path))
}

/// The service in `mode` on a free loopback port, with the shipped configuration
/// only: `BULKHEAD_*` overrides and `DATABASE_URL` of the caller's environment are
/// removed so that both modes run exactly their file.
fn service_command(binary: &Path, mode: Mode) -> Command {
    let mut command = Command::new(binary);
    command.arg(mode.flag());
    for (name, _) in std::env::vars_os() {
        let upper = name.to_string_lossy().to_ascii_uppercase();
        if upper.starts_with("BULKHEAD_") || upper == "DATABASE_URL" {
            command.env_remove(&name);
        }
    }
    command.env("BULKHEAD_LISTEN", "127.0.0.1:0");
    command
}

/// A started service process, stopped when dropped.
pub(crate) struct ServiceProcess {
    child: Child,
    base_url: String,
    stopped: bool,
}

/// The URL in a `listening on http://…` line.
fn listening_url(line: &str) -> Option<String> {
    let rest = line.trim().strip_prefix("listening on ")?;
    let url = rest.split_whitespace().next()?;
    url.starts_with("http://").then(|| url.to_owned())
}

/// The last lines of a log, for error messages.
fn tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

impl ServiceProcess {
    /// Starts `command` with its output in `log`, and waits for its
    /// `listening on http://…` line.
    pub(crate) fn start(mut command: Command, log: &Path) -> crate::Result<ServiceProcess> {
        let program = command.get_program().to_string_lossy().into_owned();
        let log_file = File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file.try_clone()?));
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {program}: {e}"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or("the service's stdout is not piped")?;
        // From here on, dropping `process` stops the child.
        let mut process = ServiceProcess {
            child,
            base_url: String::new(),
            stopped: false,
        };
        let (found, listening) = mpsc::channel();
        let mut log_out = log_file;
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = writeln!(log_out, "{line}");
                if let Some(url) = listening_url(&line) {
                    let _ = found.send(url);
                }
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match listening.recv_timeout(Duration::from_millis(50)) {
                Ok(url) => {
                    process.base_url = url;
                    return Ok(process);
                }
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {
                    if let Some(status) = process.child.try_wait()? {
                        process.stopped = true;
                        return Err(format!(
                            "{program} exited ({status}) before listening; the end of {}:\n{}",
                            log.display(),
                            tail(log)
                        )
                        .into());
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "{program} did not print its address within {START_TIMEOUT:?}; the end \
                         of {}:\n{}",
                        log.display(),
                        tail(log)
                    )
                    .into())
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = process.stop()?;
                    return Err(format!(
                        "{program} closed its output without printing its address ({status}); \
                         the end of {}:\n{}",
                        log.display(),
                        tail(log)
                    )
                    .into());
                }
            }
        }
    }

    /// The base URL the service printed, such as `http://127.0.0.1:41234`.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Asks the service to stop (SIGTERM on Unix) and waits for it; kills it when it
    /// is still running after [`STOP_TIMEOUT`].
    pub(crate) fn stop(&mut self) -> crate::Result<ExitStatus> {
        if let Some(status) = self.child.try_wait()? {
            self.stopped = true;
            return Ok(status);
        }
        let pid = self.child.id();
        if !terminate(pid) {
            self.child.kill()?;
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                self.stopped = true;
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child.kill()?;
        let status = self.child.wait()?;
        self.stopped = true;
        Err(format!("the service (pid {pid}) ignored SIGTERM for {STOP_TIMEOUT:?} and was killed ({status})").into())
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        if !self.stopped {
            if let Err(e) = self.stop() {
                eprintln!("could not stop the service (pid {}): {e}", self.child.id());
            }
        }
    }
}

/// Sends SIGTERM to `pid`; false when that could not be done.
#[cfg(unix)]
fn terminate(pid: u32) -> bool {
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(not(unix))]
fn terminate(_pid: u32) -> bool {
    false
}

/// Waits for the service's `/health` to answer, clears any fault, drives the load and
/// summarizes it.
async fn experiment(base: &str, mode: Mode, plan: &Plan) -> crate::Result<Run> {
    let client = client()?;
    wait_healthy(&client, base, START_TIMEOUT).await?;
    admin(&client, reqwest::Method::DELETE, base, None).await?;
    let samples = drive(&client, base, plan).await?;
    let bulkheads = get_json(&client, &format!("{base}/bulkheads")).await?;
    Ok(Run {
        mode,
        phases: summarize(&samples, plan),
        samples,
        bulkheads,
    })
}

/// `GET url` as JSON.
async fn get_json(client: &reqwest::Client, url: &str) -> crate::Result<Value> {
    let bytes = client
        .get(url)
        .timeout(Duration::from_secs(5))
        .send()
        .await?
        .bytes()
        .await?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{url}: not JSON: {e}").into())
}

/// The load generator's client: HTTP/1.1, no proxy, connections opened as needed.
pub(crate) fn client() -> crate::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .no_proxy()
        .pool_idle_timeout(Duration::from_secs(10))
        .build()?)
}

/// Polls `/health` until it answers (any status), at most `within`.
pub(crate) async fn wait_healthy(
    client: &reqwest::Client,
    base: &str,
    within: Duration,
) -> crate::Result {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let answer = client
            .get(format!("{base}/health"))
            .timeout(Duration::from_secs(1))
            .send()
            .await;
        match answer {
            Ok(response) if response.status().is_success() => return Ok(()),
            Ok(_) | Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(response) => {
                return Err(format!("{base}/health answered {}", response.status()).into())
            }
            Err(e) => {
                return Err(format!("{base}/health did not answer within {within:?}: {e}").into())
            }
        }
    }
}

/// Sets or clears faults; fails unless the service answers 200.
async fn admin(
    client: &reqwest::Client,
    method: reqwest::Method,
    base: &str,
    body: Option<&Value>,
) -> crate::Result {
    let url = format!("{base}/admin/faults");
    let mut request = client
        .request(method.clone(), &url)
        .timeout(Duration::from_secs(5));
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await?;
    let status = response.status();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        return Err(format!("{method} {url} answered {status}: {text}").into());
    }
    Ok(())
}

/// One request with its own timeout.
async fn request(client: &reqwest::Client, url: &str, timeout: Duration) -> Outcome {
    let call = async {
        let response = client.get(url).send().await?;
        let status = response.status();
        response.bytes().await?;
        Ok::<_, reqwest::Error>(status)
    };
    match tokio::time::timeout(timeout, call).await {
        Err(_) => Outcome::Timeout,
        Ok(Err(_)) => Outcome::Error,
        Ok(Ok(status)) if status.is_success() => Outcome::Ok,
        Ok(Ok(status)) if status == reqwest::StatusCode::SERVICE_UNAVAILABLE => Outcome::Rejected,
        Ok(Ok(status)) => Outcome::Failed(status.as_u16()),
    }
}

/// Drives the plan's open-loop load against `base`: request `i` of a route is due at
/// `i / rate` and sent then, whatever the earlier requests are doing; each phase's
/// action is taken when it starts. Returns every request, sorted by when it was due.
///
/// Bounded: `rate * duration` requests per route, each given up after the client
/// timeout, so it returns at most one timeout after the last phase ends.
pub(crate) async fn drive(
    client: &reqwest::Client,
    base: &str,
    plan: &Plan,
) -> crate::Result<Vec<Sample>> {
    let start = tokio::time::Instant::now();
    let total = plan.total();
    let mut generators = tokio::task::JoinSet::new();
    for (index, load) in plan.routes.iter().enumerate() {
        let client = client.clone();
        let base = base.to_owned();
        let load = load.clone();
        let timeout = plan.client_timeout;
        generators.spawn(async move {
            let count = (total.as_secs_f64() * load.rate).floor() as u64;
            let mut requests = tokio::task::JoinSet::new();
            for i in 0..count {
                let due = Duration::from_secs_f64(i as f64 / load.rate);
                tokio::time::sleep_until(start + due).await;
                let url = format!("{base}{}{}", load.prefix, i % 1000 + 1);
                let client = client.clone();
                requests.spawn(async move {
                    let outcome = request(&client, &url, timeout).await;
                    Sample {
                        route: index,
                        at: due,
                        latency: (start + due).elapsed(),
                        outcome,
                    }
                });
            }
            let mut samples = Vec::with_capacity(count as usize);
            while let Some(sample) = requests.join_next().await {
                samples.push(sample.expect("a request task panicked"));
            }
            samples
        });
    }
    let fault = plan.fault_body();
    let mut control = Ok(());
    for phase in &plan.phases {
        tokio::time::sleep_until(start + phase.start).await;
        let done = match phase.action {
            Action::None => Ok(()),
            Action::SetFault => admin(client, reqwest::Method::POST, base, Some(&fault)).await,
            Action::ClearFaults => admin(client, reqwest::Method::DELETE, base, None).await,
        };
        if let Err(e) = done {
            control = Err(format!("phase `{}`: {e}", phase.name));
            break;
        }
    }
    if control.is_err() {
        generators.abort_all();
    }
    let mut samples = Vec::new();
    while let Some(routes) = generators.join_next().await {
        match routes {
            Ok(routes) => samples.extend(routes),
            Err(e) if e.is_cancelled() => {}
            Err(e) => return Err(format!("a load generator failed: {e}").into()),
        }
    }
    control?;
    samples.sort_by(|a, b| a.at.cmp(&b.at).then(a.route.cmp(&b.route)));
    Ok(samples)
}

/// The `p`-th percentile (0 < p <= 100) of `sorted` by the nearest-rank method: the
/// smallest value with at least `p`% of the values at or below it. `None` when empty.
pub(crate) fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Every reported phase and route: requests due in the phase, their latency
/// percentiles (every request counts, a timeout as its timeout), success ratio,
/// rejections, timeouts and other failures.
pub(crate) fn summarize(samples: &[Sample], plan: &Plan) -> Vec<PhaseSummary> {
    plan.phases
        .iter()
        .filter(|p| p.reported)
        .map(|phase| PhaseSummary {
            phase: phase.name,
            routes: plan
                .routes
                .iter()
                .enumerate()
                .map(|(index, load)| {
                    let of: Vec<&Sample> = samples
                        .iter()
                        .filter(|s| s.route == index && s.at >= phase.start && s.at < phase.end)
                        .collect();
                    let mut latencies: Vec<f64> = of.iter().map(|s| ms(s.latency)).collect();
                    latencies.sort_by(f64::total_cmp);
                    let count = |outcome: fn(&Outcome) -> bool| {
                        of.iter().filter(|s| outcome(&s.outcome)).count()
                    };
                    let ok = count(|o| *o == Outcome::Ok);
                    RouteSummary {
                        route: load.route,
                        requests: of.len(),
                        p50_ms: percentile(&latencies, 50.0),
                        p99_ms: percentile(&latencies, 99.0),
                        success_ratio: (!of.is_empty()).then(|| ok as f64 / of.len() as f64),
                        rejected: count(|o| *o == Outcome::Rejected),
                        timeouts: count(|o| *o == Outcome::Timeout),
                        errors: count(|o| matches!(o, Outcome::Failed(_) | Outcome::Error)),
                    }
                })
                .collect(),
        })
        .collect()
}

/// Whether the headline held in one mode, and why.
#[derive(Debug, Clone)]
pub(crate) struct Verdict {
    pub(crate) mode: Mode,
    pub(crate) held: bool,
    pub(crate) claim: &'static str,
    pub(crate) checks: Vec<(bool, String)>,
}

fn fmt_ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.1} ms"))
}

fn fmt_ratio(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{:.2}%", v * 100.0))
}

/// Judges the headline per mode: with compartments, the routes other than the
/// faulty one keep their p99 within [`MAX_P99_GROWTH`] of the baseline and at least
/// [`MIN_SUCCESS`], while the faulty route is refused fast (rejections, median below
/// half the client timeout); without them, the other routes visibly degrade (p99
/// beyond [`MAX_P99_GROWTH`] of the baseline, or success below [`MIN_SUCCESS`]).
pub(crate) fn judge(plan: &Plan, runs: &[Run]) -> Vec<Verdict> {
    let (Some(fault), Some(baseline)) = (plan.fault_phase(), plan.phase("baseline")) else {
        return Vec::new();
    };
    runs.iter()
        .map(|run| {
            let mut checks = Vec::new();
            for (index, load) in plan.routes.iter().enumerate() {
                let (Some(before), Some(during)) = (
                    run.route(baseline.name, load.route),
                    run.route(fault.name, load.route),
                ) else {
                    checks.push((false, format!("{}: no requests to judge", load.name)));
                    continue;
                };
                let growth = match (before.p99_ms, during.p99_ms) {
                    (Some(b), Some(d)) if b > 0.0 => Some(d / b),
                    _ => None,
                };
                let kept_latency = growth.is_some_and(|g| g <= MAX_P99_GROWTH);
                let kept_success = during.success_ratio.is_some_and(|s| s >= MIN_SUCCESS);
                let figures = format!(
                    "p99 {} during the fault vs {} before ({}), success {}",
                    fmt_ms(during.p99_ms),
                    fmt_ms(before.p99_ms),
                    growth.map_or_else(|| "-".into(), |g| format!("{g:.2}x")),
                    fmt_ratio(during.success_ratio),
                );
                if index == plan.fault_route {
                    if run.mode == Mode::Bulkhead {
                        let half = ms(plan.client_timeout) / 2.0;
                        let fast = during.p50_ms.is_some_and(|p| p < half);
                        checks.push((
                            during.rejected > 0 && fast,
                            format!(
                                "{}: fails fast: {} of {} refused with 503, p50 {} (< {half:.0} ms); {} timed out",
                                load.name, during.rejected, during.requests, fmt_ms(during.p50_ms), during.timeouts
                            ),
                        ));
                    }
                    continue;
                }
                match run.mode {
                    Mode::Bulkhead => checks.push((
                        kept_latency && kept_success,
                        format!(
                            "{}: unharmed: {figures} (needs <= {MAX_P99_GROWTH}x and >= {:.1}%)",
                            load.name,
                            MIN_SUCCESS * 100.0
                        ),
                    )),
                    Mode::Shared => checks.push((
                        !(kept_latency && kept_success),
                        format!(
                            "{}: degraded: {figures}, {} refused with 503, {} timed out",
                            load.name, during.rejected, during.timeouts
                        ),
                    )),
                }
            }
            Verdict {
                mode: run.mode,
                held: checks.iter().all(|(ok, _)| *ok),
                claim: match run.mode {
                    Mode::Bulkhead => "with compartments, users and orders are unharmed while payments fail fast",
                    Mode::Shared => "without compartments, the same fault degrades users and orders",
                },
                checks,
            }
        })
        .collect()
}

/// The table printed at the end.
pub(crate) fn render_table(plan: &Plan, runs: &[Run]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "latency of every request from when it was due (a timeout counts as {} ms)",
        millis(plan.client_timeout)
    );
    let _ = writeln!(
        out,
        "{:<9} {:<9} {:<19} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "mode",
        "phase",
        "route",
        "requests",
        "p50 ms",
        "p99 ms",
        "success",
        "rejected",
        "timeouts",
        "errors"
    );
    for run in runs {
        for phase in &run.phases {
            for route in &phase.routes {
                let _ = writeln!(
                    out,
                    "{:<9} {:<9} {:<19} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}",
                    run.mode.as_str(),
                    phase.phase,
                    route.route,
                    route.requests,
                    route
                        .p50_ms
                        .map_or_else(|| "-".into(), |v| format!("{v:.1}")),
                    route
                        .p99_ms
                        .map_or_else(|| "-".into(), |v| format!("{v:.1}")),
                    fmt_ratio(route.success_ratio),
                    route.rejected,
                    route.timeouts,
                    route.errors,
                );
            }
        }
    }
    out
}

/// The headline verdicts, as printed.
pub(crate) fn render_verdicts(verdicts: &[Verdict]) -> String {
    let mut out = String::new();
    for verdict in verdicts {
        let _ = writeln!(
            out,
            "headline, {} mode: {} — {}",
            verdict.mode.as_str(),
            if verdict.held { "HELD" } else { "DID NOT HOLD" },
            verdict.claim
        );
        for (ok, text) in &verdict.checks {
            let _ = writeln!(out, "  [{}] {text}", if *ok { "ok" } else { "no" });
        }
    }
    out
}

fn route_json(route: &RouteSummary) -> Value {
    json!({
        "route": route.route,
        "requests": route.requests,
        "p50_ms": route.p50_ms.map(round3),
        "p99_ms": route.p99_ms.map(round3),
        "success_ratio": route.success_ratio.map(|v| (v * 1e6).round() / 1e6),
        "rejected": route.rejected,
        "timeouts": route.timeouts,
        "errors": route.errors,
    })
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// `report.json`.
pub(crate) fn report_json(
    plan: &Plan,
    runs: &[Run],
    verdicts: &[Verdict],
    took: Duration,
) -> Value {
    json!({
        "command": if plan.quick { "cargo xtask demo --quick" } else { "cargo xtask demo" },
        "quick": plan.quick,
        "package": PACKAGE,
        "client_timeout_ms": millis(plan.client_timeout),
        "fault": plan.fault_body(),
        "load": plan.routes.iter().map(|r| json!({"route": r.route, "rate_per_s": r.rate})).collect::<Vec<_>>(),
        "phases": plan.phases.iter().map(|p| json!({
            "phase": p.name,
            "start_s": p.start.as_secs_f64(),
            "end_s": p.end.as_secs_f64(),
            "reported": p.reported,
        })).collect::<Vec<_>>(),
        "runs": runs.iter().map(|run| json!({
            "mode": run.mode.as_str(),
            "phases": run.phases.iter().map(|phase| json!({
                "phase": phase.phase,
                "routes": phase.routes.iter().map(route_json).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "bulkheads": run.bulkheads,
        })).collect::<Vec<_>>(),
        "headline": {
            "held": !verdicts.is_empty() && verdicts.iter().all(|v| v.held),
            "modes": verdicts.iter().map(|v| json!({
                "mode": v.mode.as_str(),
                "held": v.held,
                "claim": v.claim,
                "checks": v.checks.iter().map(|(ok, text)| json!({"ok": ok, "text": text})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        },
        "wall_time_s": (took.as_secs_f64() * 10.0).round() / 10.0,
    })
}

const COLORS: [&str; 3] = ["#1f77b4", "#2ca02c", "#d62728"];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `isolation.svg`: per mode, a panel of latency over time per route (p99 and p50 of
/// the requests due in each window), log scale, the fault window shaded.
pub(crate) fn render_svg(plan: &Plan, runs: &[Run]) -> String {
    const WIDTH: f64 = 960.0;
    const LEFT: f64 = 70.0;
    const RIGHT: f64 = 24.0;
    const TOP: f64 = 78.0;
    const PANEL: f64 = 250.0;
    const GAP: f64 = 64.0;
    let plot_w = WIDTH - LEFT - RIGHT;
    let height = TOP + runs.len() as f64 * (PANEL + GAP) + 10.0;
    let total = plan.total().as_secs_f64().max(0.001);
    let timeout_ms = ms(plan.client_timeout);
    let (lo, hi) = (10.0_f64, (timeout_ms * 1.6).max(100.0));
    // Windows of about 25 requests per route, so that a p99 means something.
    let rate = plan.routes.iter().map(|r| r.rate).fold(1.0, f64::max);
    let window = (total / 100.0).max(25.0 / rate).max(0.1);
    let bins = (total / window).ceil() as usize;
    let x = |t: f64| LEFT + t / total * plot_w;

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="22" font-size="15" font-weight="bold">Latency per route while the payment provider hangs, with and without compartments</text>"#
    );
    let _ = writeln!(
        svg,
        r##"<text x="{LEFT}" y="40" fill="#555">p99 (solid) and p50 (dashed) of the requests due in each {window:.1} s window, {:.0} requests/s per route, open loop; a timeout counts as {:.0} ms</text>"##,
        plan.routes.first().map_or(0.0, |r| r.rate),
        timeout_ms
    );
    for (index, load) in plan.routes.iter().enumerate() {
        let lx = LEFT + index as f64 * 170.0;
        let _ = writeln!(
            svg,
            r#"<line x1="{lx}" y1="56" x2="{:.0}" y2="56" stroke="{}" stroke-width="3"/><text x="{:.0}" y="60">{}</text>"#,
            lx + 24.0,
            COLORS[index % COLORS.len()],
            lx + 30.0,
            escape(load.route)
        );
    }

    for (panel, run) in runs.iter().enumerate() {
        let top = TOP + panel as f64 * (PANEL + GAP) + 20.0;
        let bottom = top + PANEL;
        let y = |v: f64| {
            let v = v.clamp(lo, hi);
            bottom - (v.log10() - lo.log10()) / (hi.log10() - lo.log10()) * PANEL
        };
        let title = match run.mode {
            Mode::Bulkhead => "bulkhead: a compartment per route (40 / 40 / 20 slots)",
            Mode::Shared => "shared: one compartment of 100 slots for every route",
        };
        let _ = writeln!(
            svg,
            r#"<text x="{LEFT}" y="{:.0}" font-size="13" font-weight="bold">{}</text>"#,
            top - 8.0,
            escape(title)
        );
        for phase in &plan.phases {
            let (fill, opacity) = match phase.action {
                Action::SetFault => ("#d62728", 0.10),
                _ if !phase.reported => ("#888888", 0.10),
                _ => continue,
            };
            let label = if phase.action == Action::SetFault {
                format!(
                    "{} hanging ({} ms)",
                    plan.fault_service,
                    millis(plan.fault_latency)
                )
            } else {
                phase.name.to_owned()
            };
            let (x0, x1) = (x(phase.start.as_secs_f64()), x(phase.end.as_secs_f64()));
            let _ = writeln!(
                svg,
                r##"<rect x="{x0:.1}" y="{top:.1}" width="{:.1}" height="{PANEL}" fill="{fill}" fill-opacity="{opacity}"/><text x="{:.1}" y="{:.1}" fill="#555">{}</text>"##,
                x1 - x0,
                x0 + 4.0,
                top + 14.0,
                escape(&label)
            );
        }
        for tick in [
            10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0,
        ] {
            if tick < lo || tick > hi {
                continue;
            }
            let ty = y(tick);
            let _ = writeln!(
                svg,
                r##"<line x1="{LEFT}" y1="{ty:.1}" x2="{:.1}" y2="{ty:.1}" stroke="#e5e5e5"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#555">{tick} ms</text>"##,
                LEFT + plot_w,
                LEFT - 6.0,
                ty + 4.0
            );
        }
        let ty = y(timeout_ms);
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{ty:.1}" x2="{:.1}" y2="{ty:.1}" stroke="#999" stroke-dasharray="2 3"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#999">client timeout</text>"##,
            LEFT + plot_w,
            LEFT + plot_w - 4.0,
            ty - 4.0
        );
        let step = if total > 20.0 { 5.0 } else { 1.0 };
        let mut t = 0.0;
        while t <= total + 1e-9 {
            let tx = x(t);
            let _ = writeln!(
                svg,
                r##"<line x1="{tx:.1}" y1="{bottom:.1}" x2="{tx:.1}" y2="{:.1}" stroke="#555"/><text x="{tx:.1}" y="{:.1}" text-anchor="middle" fill="#555">{t:.0} s</text>"##,
                bottom + 4.0,
                bottom + 18.0
            );
            t += step;
        }
        let _ = writeln!(
            svg,
            r##"<rect x="{LEFT}" y="{top:.1}" width="{plot_w:.1}" height="{PANEL}" fill="none" stroke="#555"/>"##
        );
        for (index, _) in plan.routes.iter().enumerate() {
            let mut p99 = Vec::new();
            let mut p50 = Vec::new();
            for bin in 0..bins {
                let (from, to) = (bin as f64 * window, (bin + 1) as f64 * window);
                let mut latencies: Vec<f64> = run
                    .samples
                    .iter()
                    .filter(|s| s.route == index)
                    .filter(|s| (from..to).contains(&s.at.as_secs_f64()))
                    .map(|s| ms(s.latency))
                    .collect();
                latencies.sort_by(f64::total_cmp);
                let mid = x((from + to).min(2.0 * total) / 2.0);
                if let (Some(a), Some(b)) =
                    (percentile(&latencies, 99.0), percentile(&latencies, 50.0))
                {
                    p99.push(format!("{mid:.1},{:.1}", y(a)));
                    p50.push(format!("{mid:.1},{:.1}", y(b)));
                }
            }
            let color = COLORS[index % COLORS.len()];
            let _ = writeln!(
                svg,
                r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="1.8"/>"#,
                p99.join(" ")
            );
            let _ = writeln!(
                svg,
                r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="1.2" stroke-dasharray="4 3" stroke-opacity="0.7"/>"#,
                p50.join(" ")
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(route: usize, at_ms: u64, latency_ms: u64, outcome: Outcome) -> Sample {
        Sample {
            route,
            at: Duration::from_millis(at_ms),
            latency: Duration::from_millis(latency_ms),
            outcome,
        }
    }

    /// A plan of 1 s phases at 10 requests/s after a 1 s warm-up.
    fn small_plan() -> Plan {
        Plan::new(
            10.0,
            Duration::from_secs(1),
            Duration::from_secs(1),
            Duration::from_secs(2),
        )
    }

    fn summary(route: &'static str, p99: f64, success: f64, rejected: usize) -> RouteSummary {
        RouteSummary {
            route,
            requests: 100,
            p50_ms: Some(p99 / 2.0),
            p99_ms: Some(p99),
            success_ratio: Some(success),
            rejected,
            timeouts: 0,
            errors: 0,
        }
    }

    /// A run whose baseline is 50/80/120 ms for everyone and whose fault phase has
    /// the given users, orders and payments figures.
    fn run(mode: Mode, fault: [RouteSummary; 3]) -> Run {
        let baseline = vec![
            summary("/api/users/{id}", 50.0, 1.0, 0),
            summary("/api/orders/{id}", 80.0, 1.0, 0),
            summary("/api/payments/{id}", 120.0, 1.0, 0),
        ];
        Run {
            mode,
            samples: Vec::new(),
            phases: vec![
                PhaseSummary {
                    phase: "baseline",
                    routes: baseline.clone(),
                },
                PhaseSummary {
                    phase: "fault",
                    routes: fault.to_vec(),
                },
                PhaseSummary {
                    phase: "recovery",
                    routes: baseline,
                },
            ],
            bulkheads: json!({"mode": mode.as_str()}),
        }
    }

    fn isolated() -> Run {
        let payments = RouteSummary {
            p50_ms: Some(210.0),
            ..summary("/api/payments/{id}", 2000.0, 0.0, 80)
        };
        run(
            Mode::Bulkhead,
            [
                summary("/api/users/{id}", 52.0, 1.0, 0),
                summary("/api/orders/{id}", 83.0, 0.9995, 0),
                payments,
            ],
        )
    }

    fn starved() -> Run {
        run(
            Mode::Shared,
            [
                summary("/api/users/{id}", 260.0, 0.6, 40),
                summary("/api/orders/{id}", 290.0, 0.55, 45),
                summary("/api/payments/{id}", 2000.0, 0.0, 70),
            ],
        )
    }

    #[test]
    fn percentiles_are_nearest_ranks() {
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&hundred, 50.0), Some(50.0));
        assert_eq!(percentile(&hundred, 99.0), Some(99.0));
        assert_eq!(percentile(&hundred, 100.0), Some(100.0));
        assert_eq!(percentile(&hundred, 0.1), Some(1.0));
        assert_eq!(percentile(&[1.0, 2.0], 50.0), Some(1.0));
        assert_eq!(percentile(&[1.0, 2.0], 99.0), Some(2.0));
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(
            percentile(&ten, 99.0),
            Some(10.0),
            "one slow call in ten is the p99"
        );
    }

    #[test]
    fn the_plans_are_bounded_and_their_phases_follow_each_other() {
        for plan in [Plan::full(), Plan::quick(), small_plan()] {
            let names: Vec<&str> = plan.phases.iter().map(|p| p.name).collect();
            assert_eq!(names, ["warmup", "baseline", "fault", "recovery"]);
            for pair in plan.phases.windows(2) {
                assert_eq!(pair[0].end, pair[1].start);
            }
            assert!(!plan.phases[0].reported);
            assert_eq!(plan.fault_phase().unwrap().name, "fault");
            assert_eq!(plan.routes[plan.fault_route].route, "/api/payments/{id}");
        }
        // Two modes of the full run, each followed by one client timeout of draining,
        // leave most of the three minutes for the release build and start-up.
        let full = Plan::full();
        assert_eq!(full.total(), Duration::from_secs(32));
        assert!(2 * (full.total() + full.client_timeout) < Duration::from_secs(80));
        assert!(Plan::quick().quick && !full.quick);
        assert_eq!(
            full.fault_body(),
            json!({"service": "payment", "latency_ms": 30000, "error_rate": 0.0})
        );
    }

    #[test]
    fn summaries_count_each_request_in_the_phase_it_was_due() {
        let plan = small_plan();
        let samples = [
            sample(0, 500, 999, Outcome::Ok), // warm-up: not reported
            sample(0, 1000, 50, Outcome::Ok),
            sample(0, 1100, 60, Outcome::Ok),
            sample(0, 1999, 70, Outcome::Failed(502)),
            sample(2, 1500, 120, Outcome::Ok),
            sample(0, 2000, 2000, Outcome::Timeout),
            sample(2, 2100, 200, Outcome::Rejected),
            sample(2, 2200, 210, Outcome::Rejected),
            sample(2, 2300, 2001, Outcome::Timeout),
            sample(1, 2400, 5, Outcome::Error),
        ];
        let phases = summarize(&samples, &plan);
        assert_eq!(
            phases.iter().map(|p| p.phase).collect::<Vec<_>>(),
            ["baseline", "fault", "recovery"]
        );
        let users = &phases[0].routes[0];
        assert_eq!(users.route, "/api/users/{id}");
        assert_eq!(users.requests, 3);
        assert_eq!((users.p50_ms, users.p99_ms), (Some(60.0), Some(70.0)));
        assert_eq!(users.success_ratio, Some(2.0 / 3.0));
        assert_eq!((users.rejected, users.timeouts, users.errors), (0, 0, 1));
        assert_eq!(phases[0].routes[1].requests, 0);
        assert_eq!(phases[0].routes[1].p99_ms, None);
        assert_eq!(phases[0].routes[1].success_ratio, None);

        let payments = &phases[1].routes[2];
        assert_eq!(payments.requests, 3);
        assert_eq!((payments.rejected, payments.timeouts), (2, 1));
        assert_eq!(payments.success_ratio, Some(0.0));
        assert_eq!(
            (payments.p50_ms, payments.p99_ms),
            (Some(210.0), Some(2001.0))
        );
        assert_eq!(phases[1].routes[0].timeouts, 1);
        assert_eq!(phases[1].routes[1].errors, 1);
        assert!(phases[2].routes.iter().all(|r| r.requests == 0));
    }

    #[test]
    fn the_headline_holds_only_when_isolation_protects_and_sharing_degrades() {
        let plan = small_plan();
        let verdicts = judge(&plan, &[isolated(), starved()]);
        assert_eq!(verdicts.len(), 2);
        assert!(verdicts.iter().all(|v| v.held), "{verdicts:#?}");
        assert_eq!(verdicts[0].checks.len(), 3, "users, orders and payments");
        assert_eq!(verdicts[1].checks.len(), 2, "users and orders");

        // Users slower than 1.5x the baseline: not unharmed.
        let mut slow = isolated();
        slow.phases[1].routes[0].p99_ms = Some(76.0);
        assert!(!judge(&plan, &[slow])[0].held);
        // One failure in a hundred: not unharmed.
        let mut failing = isolated();
        failing.phases[1].routes[1].success_ratio = Some(0.99);
        assert!(!judge(&plan, &[failing])[0].held);
        // Payments piling up until the client gives up: not failing fast.
        let mut piling = isolated();
        piling.phases[1].routes[2].p50_ms = Some(2000.0);
        assert!(!judge(&plan, &[piling])[0].held);
        let mut unrefused = isolated();
        unrefused.phases[1].routes[2].rejected = 0;
        assert!(!judge(&plan, &[unrefused])[0].held);

        // A shared run where orders were untouched does not show the degradation.
        let mut untouched = starved();
        untouched.phases[1].routes[1] = summary("/api/orders/{id}", 81.0, 1.0, 0);
        let verdict = &judge(&plan, &[untouched])[0];
        assert!(!verdict.held);
        assert!(verdict.checks[0].0 && !verdict.checks[1].0);
    }

    #[test]
    fn the_report_has_the_documented_shape() {
        let plan = small_plan();
        let runs = [isolated(), starved()];
        let verdicts = judge(&plan, &runs);
        let report = report_json(&plan, &runs, &verdicts, Duration::from_millis(81_234));
        assert_eq!(report["headline"]["held"], true);
        assert_eq!(report["wall_time_s"], 81.2);
        assert_eq!(report["client_timeout_ms"], 2000);
        let modes: Vec<&str> = report["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["mode"].as_str().unwrap())
            .collect();
        assert_eq!(modes, ["bulkhead", "shared"]);
        for run in report["runs"].as_array().unwrap() {
            let phases = run["phases"].as_array().unwrap();
            assert_eq!(phases.len(), 3);
            for phase in phases {
                assert!(phase["phase"].is_string());
                let routes = phase["routes"].as_array().unwrap();
                assert_eq!(routes.len(), 3);
                for route in routes {
                    assert!(route["route"].as_str().unwrap().starts_with("/api/"));
                    for key in ["p50_ms", "p99_ms", "success_ratio", "rejected", "requests"] {
                        assert!(route[key].is_number(), "{key} in {route}");
                    }
                }
            }
        }
        let fault = &report["runs"][0]["phases"][1]["routes"][2];
        assert_eq!(fault["rejected"], 80);
        assert_eq!(fault["p99_ms"], 2000.0);
        assert_eq!(
            report["runs"][1]["phases"][1]["routes"][0]["success_ratio"],
            0.6
        );
    }

    #[test]
    fn the_chart_has_a_panel_per_mode_with_the_fault_shaded_and_is_written_with_the_report() {
        let plan = small_plan();
        let mut runs = [isolated(), starved()];
        for run in &mut runs {
            for (i, at) in (0..40u64).map(|i| (i, i * 100)) {
                let route = (i % 3) as usize;
                let latency = if route == 2 && (2000..3000).contains(&at) {
                    2000
                } else {
                    50
                };
                run.samples.push(sample(route, at, latency, Outcome::Ok));
            }
        }
        let svg = render_svg(&plan, &runs);
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{svg}"
        );
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(
            svg.matches("<polyline").count(),
            2 * 3 * 2,
            "p99 and p50, 3 routes, 2 modes"
        );
        assert_eq!(
            svg.matches(r##"fill="#d62728" fill-opacity"##).count(),
            2,
            "one fault window per panel"
        );
        assert!(svg.contains("payment hanging (30000 ms)"));
        assert!(svg.contains("bulkhead: a compartment per route"));
        assert!(svg.contains("shared: one compartment of 100 slots"));
        assert!(
            !svg.contains("NaN") && !svg.contains("inf"),
            "every coordinate is finite"
        );

        let dir = std::env::temp_dir().join(format!("xtask-demo-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let verdicts = judge(&plan, &runs);
        let report = report_json(&plan, &runs, &verdicts, Duration::from_secs(1));
        let (json_path, svg_path) = write_outputs(&dir, &report, &svg).unwrap();
        assert_eq!(fs::read_to_string(&svg_path).unwrap(), svg);
        let back: Value = serde_json::from_str(&fs::read_to_string(&json_path).unwrap()).unwrap();
        assert_eq!(back, report);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_table_lists_every_mode_phase_and_route() {
        let plan = small_plan();
        let table = render_table(&plan, &[isolated(), starved()]);
        assert_eq!(table.lines().count(), 2 + 2 * 3 * 3);
        let line = table
            .lines()
            .find(|l| l.starts_with("shared") && l.contains(" fault ") && l.contains("/api/users/"))
            .unwrap();
        assert!(
            line.contains("260.0") && line.contains("60.00%") && line.contains(" 40 "),
            "{line}"
        );
        let verdicts = render_verdicts(&judge(&plan, &[isolated()]));
        assert!(
            verdicts.starts_with("headline, bulkhead mode: HELD"),
            "{verdicts}"
        );
    }

    #[test]
    fn the_services_address_is_read_from_its_first_line() {
        assert_eq!(
            listening_url("listening on http://127.0.0.1:41234 (bulkhead mode)").as_deref(),
            Some("http://127.0.0.1:41234")
        );
        assert_eq!(listening_url("  /health /metrics"), None);
        assert_eq!(listening_url("listening on 127.0.0.1:1"), None);
    }

    #[test]
    fn the_command_runs_the_mode_on_a_free_port_without_the_callers_overrides() {
        let command = service_command(Path::new("/bin/true"), Mode::Shared);
        let args: Vec<_> = command.get_args().collect();
        assert_eq!(args, ["--shared"]);
        let listen = command
            .get_envs()
            .find(|(k, _)| *k == "BULKHEAD_LISTEN")
            .and_then(|(_, v)| v);
        assert_eq!(listen, Some(std::ffi::OsStr::new("127.0.0.1:0")));
    }

    #[cfg(unix)]
    #[test]
    fn a_service_is_stopped_with_sigterm_when_its_handle_is_dropped() {
        use std::os::unix::process::ExitStatusExt as _;

        let dir = std::env::temp_dir().join(format!("xtask-demo-proc-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let mut sh = Command::new("sh");
        sh.args([
            "-c",
            "echo 'listening on http://127.0.0.1:9 (test)'; exec sleep 30",
        ]);
        let mut service = ServiceProcess::start(sh, &dir.join("a.log")).unwrap();
        assert_eq!(service.base_url(), "http://127.0.0.1:9");
        let started = Instant::now();
        let status = service.stop().unwrap();
        assert_eq!(status.signal(), Some(15), "{status:?}");
        assert!(started.elapsed() < Duration::from_secs(5));

        let mut sh = Command::new("sh");
        sh.args([
            "-c",
            "echo 'listening on http://127.0.0.1:9'; exec sleep 30",
        ]);
        let service = ServiceProcess::start(sh, &dir.join("b.log")).unwrap();
        let pid = service.child.id();
        drop(service);
        let alive = Command::new("kill")
            .args(["-0", &pid.to_string()])
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(
            !alive.success(),
            "pid {pid} still runs after the handle was dropped"
        );

        let mut sh = Command::new("sh");
        sh.args(["-c", "echo 'no such file: bulkhead.yaml' >&2; exit 3"]);
        let error = ServiceProcess::start(sh, &dir.join("c.log"))
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("no such file: bulkhead.yaml"), "{error}");
        assert!(
            error.contains("exit status: 3") || error.contains("closed its output"),
            "{error}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    /// The example service in `mode`, in this process, with its compartments shrunk
    /// by `overrides`; returns its base URL.
    async fn serve_example(
        mode: bulkhead_example_microservice::Mode,
        overrides: &[(&str, &str)],
    ) -> String {
        use bulkhead::registry::{Environment, Sources};
        use bulkhead_example_microservice::{app, serve, App, Options};

        let sources = Sources::new()
            .file(mode.config_file())
            .environment(Environment::from_vars(overrides.iter().copied()));
        let service = App::build(Options::new(mode).sources(sources))
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(serve(listener, app(&service), std::future::pending()));
        base
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_load_generator_keeps_its_schedule_and_sees_the_isolation_in_both_modes() {
        use bulkhead_example_microservice::Mode as ServiceMode;

        let bulkhead = serve_example(
            ServiceMode::Bulkhead,
            &[("BULKHEAD_COMPARTMENTS__PAYMENT_API__MAX_CONCURRENT", "4")],
        )
        .await;
        let shared = serve_example(
            ServiceMode::Shared,
            &[("BULKHEAD_COMPARTMENTS__SHARED__MAX_CONCURRENT", "6")],
        )
        .await;
        let plan = Plan::new(
            20.0,
            Duration::from_millis(250),
            Duration::from_secs(1),
            Duration::from_secs(1),
        );
        let client = client().unwrap();
        for base in [&bulkhead, &shared] {
            wait_healthy(&client, base, Duration::from_secs(10))
                .await
                .unwrap();
        }
        let (isolated, starved) = tokio::join!(
            drive(&client, &bulkhead, &plan),
            drive(&client, &shared, &plan)
        );
        let (isolated, starved) = (isolated.unwrap(), starved.unwrap());

        for samples in [&isolated, &starved] {
            for route in 0..3 {
                let due: Vec<Duration> = samples
                    .iter()
                    .filter(|s| s.route == route)
                    .map(|s| s.at)
                    .collect();
                // Open loop: every request of the schedule was sent, answered or not.
                assert_eq!(due.len(), 65, "3.25 s at 20/s on route {route}");
                assert!(due
                    .iter()
                    .enumerate()
                    .all(|(i, at)| *at == Duration::from_secs_f64(i as f64 / 20.0)));
            }
            assert!(samples
                .iter()
                .all(|s| s.latency <= plan.client_timeout + Duration::from_millis(500)));
        }

        let isolated = summarize(&isolated, &plan);
        let starved = summarize(&starved, &plan);
        for route in &isolated[0].routes {
            assert_eq!(
                route.success_ratio,
                Some(1.0),
                "baseline with compartments: {route:?}"
            );
        }
        let fault = &isolated[1].routes;
        assert_eq!(
            fault[0].success_ratio,
            Some(1.0),
            "users with compartments: {:?}",
            fault[0]
        );
        assert_eq!(
            fault[1].success_ratio,
            Some(1.0),
            "orders with compartments: {:?}",
            fault[1]
        );
        assert!(
            fault[2].rejected > 0,
            "payments refused with compartments: {:?}",
            fault[2]
        );
        assert_eq!(fault[2].errors, 0);

        let fault = &starved[1].routes;
        for route in &fault[..2] {
            assert!(
                route.rejected + route.timeouts > 0,
                "without compartments: {route:?}"
            );
            assert!(
                route.success_ratio < Some(1.0),
                "without compartments: {route:?}"
            );
        }
    }
}
