//! `bulkhead`: checks bulkhead configuration files.
//!
//! ```text
//! bulkhead check [--no-env] [FILE]...
//! ```
//!
//! Validates the files (TOML or YAML, later files over earlier ones) with the
//! `BULKHEAD_*` environment variables layered on top, as a service using
//! `bulkhead-registry` would load them, and prints every compartment with each
//! resolved value and where it came from. Exits 0 when the configuration is valid, 1
//! with every problem on stderr when it is not, 2 on a usage error.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use bulkhead_registry::{
    Environment, Origin, Registry, Resolved, Sources, CONFIG_ENV, DEFAULT_FILES,
};

const USAGE: &str = "\
usage: bulkhead check [--no-env] [FILE]...

Validates bulkhead configuration files and prints every compartment with its resolved
settings and where each value came from.

  FILE       a .toml, .yaml or .yml file; later files override earlier ones. Without
             FILE: the files named by BULKHEAD_CONFIG, else bulkhead.toml, bulkhead.yaml
             or bulkhead.yml in the current directory.
  --no-env   ignore BULKHEAD_* environment variables (by default they are layered on
             top of the files, as a service would load them)

exit status: 0 valid, 1 invalid (problems on stderr), 2 usage error
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("check") => match parse_check(&args[1..]) {
            Ok(Some((files, env))) => check(files, env),
            Ok(None) => {
                out(USAGE);
                ExitCode::SUCCESS
            }
            Err(message) => usage_error(&message),
        },
        Some("-h" | "--help" | "help") => {
            out(USAGE);
            ExitCode::SUCCESS
        }
        Some("-V" | "--version") => {
            out(&format!("bulkhead {}\n", env!("CARGO_PKG_VERSION")));
            ExitCode::SUCCESS
        }
        Some(other) => usage_error(&format!("unknown command `{other}`")),
        None => usage_error("missing command"),
    }
}

/// The files and whether to read the environment, or `None` for `--help`.
fn parse_check(args: &[String]) -> Result<Option<(Vec<PathBuf>, bool)>, String> {
    let mut files = Vec::new();
    let mut env = true;
    let mut options_done = false;
    for arg in args {
        match arg.as_str() {
            "--" if !options_done => options_done = true,
            "-h" | "--help" if !options_done => return Ok(None),
            "--no-env" if !options_done => env = false,
            option if !options_done && option.starts_with('-') && option != "-" => {
                return Err(format!("unknown option `{option}`"));
            }
            file => files.push(PathBuf::from(file)),
        }
    }
    Ok(Some((files, env)))
}

fn check(files: Vec<PathBuf>, env: bool) -> ExitCode {
    let environment = if env {
        Environment::process()
    } else {
        Environment::empty()
    };
    let builder = Registry::builder().sources(Sources::new().files(files).environment(environment));
    match builder.validate() {
        Ok(resolved) if resolved.files().is_empty() => {
            err(&format!(
                "error: no configuration file: pass FILE, set {CONFIG_ENV}, or create one of {}\n",
                DEFAULT_FILES.join(", ")
            ));
            ExitCode::from(1)
        }
        Ok(resolved) => {
            out(&report(&resolved, env, &builder.kinds()));
            ExitCode::SUCCESS
        }
        Err(error) => {
            let mut text = String::new();
            for problem in error.problems() {
                text.push_str(&format!("error: {problem}\n"));
            }
            let n = error.problems().len();
            text.push_str(&format!(
                "{n} problem{}; nothing would be built\n",
                if n == 1 { "" } else { "s" }
            ));
            err(&text);
            ExitCode::from(1)
        }
    }
}

fn report(resolved: &Resolved, env: bool, kinds: &[&str]) -> String {
    let files: Vec<String> = resolved
        .files()
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    let n = resolved.compartments().len();
    let mut text = format!(
        "valid: {n} compartment{} from {}{} (known kinds: {})\n",
        if n == 1 { "" } else { "s" },
        files.join(", "),
        if env {
            ", with BULKHEAD_* environment variables on top"
        } else {
            ""
        },
        kinds.join(", "),
    );
    for compartment in resolved.compartments() {
        text.push('\n');
        text.push_str(&format!(
            "{}  kind = \"{}\"",
            compartment.name(),
            compartment.kind()
        ));
        if let Some(origin) = compartment.kind_origin() {
            text.push_str(&format!("  ({origin})"));
        }
        text.push('\n');
        let key_width = compartment
            .settings()
            .iter()
            .map(|s| s.key().len())
            .max()
            .unwrap_or(0);
        let value_width = compartment
            .settings()
            .iter()
            .map(|s| s.value().len())
            .max()
            .unwrap_or(0);
        for setting in compartment.settings() {
            let from = match setting.origin() {
                origin @ (Origin::File { .. } | Origin::Env { .. }) if setting.inherited() => {
                    format!("{origin} (defaults.{})", compartment.kind())
                }
                origin => origin.to_string(),
            };
            text.push_str(&format!(
                "  {:key_width$} = {:value_width$}  {from}\n",
                setting.key(),
                setting.value(),
            ));
        }
    }
    text
}

fn usage_error(message: &str) -> ExitCode {
    err(&format!("error: {message}\n\n{USAGE}"));
    ExitCode::from(2)
}

/// Writes to stdout, ignoring a closed pipe (`bulkhead check | head`).
fn out(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn err(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
