//! What the service is started with: the mode, the listen address, the compartments'
//! sources, the downstreams' latencies, the database and telemetry.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use bulkhead::deadpool::postgres::PostgresConfig;
use bulkhead::metrics::HealthConfig;
use bulkhead::otlp::OtelObserver;
use bulkhead::registry::Sources;

use crate::{Error, Service};

/// Where the binary listens unless [`LISTEN_ENV`] says otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
/// The variable holding the listen address, such as `127.0.0.1:3000` (port 0 picks a
/// free port).
pub const LISTEN_ENV: &str = "BULKHEAD_LISTEN";
/// The variable choosing the mode: `bulkhead` (default) or `shared`.
pub const MODE_ENV: &str = "BULKHEAD_MODE";
/// The variable holding the PostgreSQL URL; when set, the order routes use the
/// database's read and write pools.
pub const DATABASE_URL_ENV: &str = "DATABASE_URL";
/// The variable that turns OTLP export on (the standard OpenTelemetry one).
pub const OTLP_ENDPOINT_ENV: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// How the routes share the service's slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Each API route has its own compartment (`user-api`, `order-api`,
    /// `payment-api`), read from `bulkhead.yaml`.
    Bulkhead,
    /// No isolation: every API route takes its slot from one compartment (`shared`)
    /// of the same total size, read from `shared.yaml`.
    Shared,
}

impl Mode {
    /// `bulkhead` or `shared`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Bulkhead => "bulkhead",
            Mode::Shared => "shared",
        }
    }

    /// The configuration file shipped for this mode: `bulkhead.yaml` or `shared.yaml`
    /// in the package's directory.
    pub fn config_file(self) -> PathBuf {
        let file = match self {
            Mode::Bulkhead => "bulkhead.yaml",
            Mode::Shared => "shared.yaml",
        };
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(file)
    }

    /// The compartment `service`'s route takes its slot from.
    pub fn compartment(self, service: Service) -> &'static str {
        match (self, service) {
            (Mode::Shared, _) => "shared",
            (Mode::Bulkhead, Service::User) => "user-api",
            (Mode::Bulkhead, Service::Order) => "order-api",
            (Mode::Bulkhead, Service::Payment) => "payment-api",
        }
    }

    /// The mode chosen by the command line (`--shared` or `--bulkhead`), else by the
    /// value of [`MODE_ENV`], else [`Mode::Bulkhead`].
    ///
    /// Unknown arguments and values are refused with a message naming them.
    pub fn from_args_and_env<I, S>(args: I, env: Option<&str>) -> Result<Mode, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut chosen = None;
        for arg in args {
            let mode = match arg.as_ref() {
                "--shared" => Mode::Shared,
                "--bulkhead" => Mode::Bulkhead,
                other => {
                    return Err(Error::new(format!(
                        "unknown argument `{other}`; expected `--shared` or `--bulkhead`"
                    )))
                }
            };
            if chosen.is_some_and(|m| m != mode) {
                return Err(Error::new("give `--shared` or `--bulkhead`, not both"));
            }
            chosen = Some(mode);
        }
        if let Some(mode) = chosen {
            return Ok(mode);
        }
        match env.map(str::trim) {
            None | Some("") => Ok(Mode::Bulkhead),
            Some(value) => value
                .parse()
                .map_err(|e: UnknownMode| Error::new(format!("{MODE_ENV}: {e}"))),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A mode name that is neither `bulkhead` nor `shared`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownMode(pub String);

impl fmt::Display for UnknownMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown mode `{}`; expected `bulkhead` or `shared`",
            self.0
        )
    }
}

impl std::error::Error for UnknownMode {}

impl FromStr for Mode {
    type Err = UnknownMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "bulkhead" => Ok(Mode::Bulkhead),
            "shared" => Ok(Mode::Shared),
            other => Err(UnknownMode(other.to_owned())),
        }
    }
}

/// The address to listen on: `value` (the value of [`LISTEN_ENV`]), or
/// [`DEFAULT_LISTEN`] when it is unset or empty.
///
/// ```
/// use bulkhead_example_microservice::listen_addr;
///
/// assert_eq!(listen_addr(None).unwrap().to_string(), "127.0.0.1:3000");
/// assert_eq!(listen_addr(Some("0.0.0.0:8080")).unwrap().port(), 8080);
/// let error = listen_addr(Some("localhost")).unwrap_err().to_string();
/// assert!(error.starts_with("BULKHEAD_LISTEN is `localhost`"), "{error}");
/// ```
pub fn listen_addr(value: Option<&str>) -> Result<SocketAddr, Error> {
    let value = match value.map(str::trim) {
        None | Some("") => DEFAULT_LISTEN,
        Some(value) => value,
    };
    value.parse().map_err(|e| {
        Error::new(format!(
            "{LISTEN_ENV} is `{value}`, which is not an IP address and port such as \
             {DEFAULT_LISTEN}: {e}"
        ))
    })
}

/// The database configuration for a `DATABASE_URL` value: read and write pools of
/// 8 and 4 connections that wait at most 200 ms for a connection, with a 2 s
/// statement timeout; `None` when unset or empty.
///
/// The URL is checked here, so a typo is reported at start-up, naming the variable.
pub fn database_config(url: Option<&str>) -> Result<Option<PostgresConfig>, Error> {
    let Some(url) = url.map(str::trim).filter(|url| !url.is_empty()) else {
        return Ok(None);
    };
    let mut config = PostgresConfig::new(url).sizes(8, 4);
    for pool in [&mut config.read, &mut config.write] {
        pool.max_wait = Duration::from_millis(200);
        pool.statement_timeout = Some(Duration::from_secs(2));
        pool.retry_after = Some(Duration::from_secs(1));
    }
    config.read.read_only = true;
    config
        .validate()
        .map_err(|e| Error::new(format!("{DATABASE_URL_ENV}: {e}")))?;
    Ok(Some(config))
}

/// Everything [`App::build`](crate::App::build) needs.
///
/// ```
/// use std::time::Duration;
/// use bulkhead_example_microservice::{Mode, Options, Service};
///
/// let options = Options::new(Mode::Shared).latency(Service::Payment, Duration::from_millis(5));
/// assert_eq!(options.mode, Mode::Shared);
/// assert_eq!(options.latencies[2], Duration::from_millis(5));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// How the routes share slots.
    ///
    /// Default: [`Mode::Bulkhead`].
    pub mode: Mode,
    /// Where the compartments are read from.
    ///
    /// Default: the mode's [`config_file`](Mode::config_file) (unless
    /// `BULKHEAD_CONFIG` names others), then `BULKHEAD_*` variables of the process.
    pub sources: Sources,
    /// How long each simulated downstream takes, in the order of [`Service::ALL`].
    ///
    /// Default: [`Service::default_latency`].
    pub latencies: [Duration; 3],
    /// How the health monitor samples and judges the compartments.
    ///
    /// Default: a 5 s interval with 10 samples, thresholds 0.9 and 0.05.
    pub health: HealthConfig,
    /// The PostgreSQL read/write pools used by the order routes.
    ///
    /// Default: none.
    pub database: Option<PostgresConfig>,
    /// An OpenTelemetry observer to attach to every compartment (from
    /// `bulkhead::otlp::init`).
    ///
    /// Default: none.
    pub otel: Option<OtelObserver>,
}

impl Options {
    /// The defaults for `mode`.
    pub fn new(mode: Mode) -> Self {
        Options {
            mode,
            sources: Sources::new().default_file(mode.config_file()),
            latencies: Service::ALL.map(Service::default_latency),
            health: HealthConfig::default()
                .interval(Duration::from_secs(5))
                .samples_per_interval(10),
            database: None,
            otel: None,
        }
    }

    /// Replaces the sources of the compartments' configuration.
    pub fn sources(mut self, sources: Sources) -> Self {
        self.sources = sources;
        self
    }

    /// Sets how long `service`'s downstream takes.
    pub fn latency(mut self, service: Service, latency: Duration) -> Self {
        self.latencies[service as usize] = latency;
        self
    }

    /// Replaces the health monitor's configuration.
    pub fn health(mut self, health: HealthConfig) -> Self {
        self.health = health;
        self
    }

    /// Uses PostgreSQL in the order routes.
    pub fn database(mut self, database: Option<PostgresConfig>) -> Self {
        self.database = database;
        self
    }

    /// Attaches an OpenTelemetry observer to every compartment.
    pub fn otel(mut self, observer: Option<OtelObserver>) -> Self {
        self.otel = observer;
        self
    }
}

impl Default for Options {
    fn default() -> Self {
        Options::new(Mode::Bulkhead)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_comes_from_the_flag_then_the_variable_then_the_default() {
        let none: [&str; 0] = [];
        assert_eq!(Mode::from_args_and_env(none, None).unwrap(), Mode::Bulkhead);
        assert_eq!(
            Mode::from_args_and_env(none, Some("shared")).unwrap(),
            Mode::Shared
        );
        assert_eq!(
            Mode::from_args_and_env(["--bulkhead"], Some("shared")).unwrap(),
            Mode::Bulkhead
        );
        assert_eq!(
            Mode::from_args_and_env(["--shared"], None).unwrap(),
            Mode::Shared
        );
    }

    #[test]
    fn a_bad_mode_names_the_variable_or_the_argument() {
        let none: [&str; 0] = [];
        let error = Mode::from_args_and_env(none, Some("isolated")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "BULKHEAD_MODE: unknown mode `isolated`; expected `bulkhead` or `shared`"
        );
        let error = Mode::from_args_and_env(["--isolated"], None).unwrap_err();
        assert!(error.to_string().contains("`--isolated`"), "{error}");
        let error = Mode::from_args_and_env(["--shared", "--bulkhead"], None).unwrap_err();
        assert!(error.to_string().contains("not both"), "{error}");
    }

    #[test]
    fn a_bad_listen_address_names_the_variable() {
        assert_eq!(
            listen_addr(Some("  ")).unwrap(),
            DEFAULT_LISTEN.parse().unwrap()
        );
        let error = listen_addr(Some("127.0.0.1")).unwrap_err().to_string();
        assert!(
            error.starts_with("BULKHEAD_LISTEN is `127.0.0.1`"),
            "{error}"
        );
    }

    #[test]
    fn the_database_url_is_checked_at_start_up() {
        assert_eq!(database_config(None).unwrap(), None);
        assert_eq!(database_config(Some("")).unwrap(), None);
        let config = database_config(Some("postgres://app@localhost/app"))
            .unwrap()
            .unwrap();
        assert_eq!((config.read.max_size, config.write.max_size), (8, 4));
        assert!(config.read.read_only && !config.write.read_only);
        let error = database_config(Some("postgres://app@localhost:notaport/app"))
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("DATABASE_URL: "), "{error}");
        assert!(error.contains("url"), "{error}");
    }

    #[test]
    fn each_mode_routes_to_its_own_file_and_compartments() {
        assert!(Mode::Bulkhead.config_file().ends_with("bulkhead.yaml"));
        assert!(Mode::Shared.config_file().ends_with("shared.yaml"));
        let bulkhead: Vec<_> = Service::ALL.map(|s| Mode::Bulkhead.compartment(s)).into();
        assert_eq!(bulkhead, ["user-api", "order-api", "payment-api"]);
        assert!(Service::ALL
            .into_iter()
            .all(|s| Mode::Shared.compartment(s) == "shared"));
    }
}
