//! Configuration of PostgreSQL pools: where to connect, how many connections, which
//! timeouts.

use std::fmt;
use std::time::Duration;

use bulkhead_core::ConfigError;

use crate::config::first;
use crate::{PoolConfig, MAX_SIZE_LIMIT};

/// The longest `connect_timeout` accepted.
pub const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(3600);
/// The longest `statement_timeout` accepted.
pub const MAX_STATEMENT_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// Where to connect: a URL, or parameters, or a URL completed by parameters.
///
/// `url` (`postgres://user:password@host:5432/dbname`, or the key/value form
/// `host=... user=...`) and `host`/`port` are exclusive; `user`, `password`, `dbname`
/// and `application_name` override what the URL says.
///
/// In a [`PostgresConfig`], the top-level `connection` is shared by both pools; a pool's
/// own `connection` with a `url` or a `host` replaces the shared server (a read replica,
/// say), and its other fields override the shared ones one by one.
///
/// `Debug` output hides the password.
#[derive(Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields, default))]
pub struct PgConnect {
    /// A connection URL or key/value string.
    ///
    /// Default: none.
    pub url: Option<String>,
    /// Host name, IP address, or directory of a Unix socket.
    ///
    /// Default: none.
    pub host: Option<String>,
    /// Port, with `host`.
    ///
    /// Default: none (5432).
    pub port: Option<u16>,
    /// User name.
    ///
    /// Default: none (the URL's, else the operating system user).
    pub user: Option<String>,
    /// Password.
    ///
    /// Default: none.
    pub password: Option<String>,
    /// Database name.
    ///
    /// Default: none (the user name).
    pub dbname: Option<String>,
    /// `application_name` shown in `pg_stat_activity`.
    ///
    /// Default: none (the URL's, else the compartment's name).
    pub application_name: Option<String>,
}

impl PgConnect {
    /// A connection to `url`.
    pub fn url(url: impl Into<String>) -> Self {
        PgConnect {
            url: Some(url.into()),
            ..PgConnect::default()
        }
    }

    /// A connection to `host` on `port`.
    pub fn host(host: impl Into<String>, port: u16) -> Self {
        PgConnect {
            host: Some(host.into()),
            port: Some(port),
            ..PgConnect::default()
        }
    }

    /// Whether this names a server (a `url` or a `host`).
    pub fn names_server(&self) -> bool {
        self.url.is_some() || self.host.is_some()
    }

    fn problems(&self, prefix: &str) -> Vec<ConfigError> {
        let mut problems = Vec::new();
        if self.url.is_some() && (self.host.is_some() || self.port.is_some()) {
            problems.push(ConfigError::new(
                format!("{prefix}url"),
                "cannot be combined with `host` or `port`: give one or the other",
            ));
        }
        if self.url.is_none() && self.host.is_none() && self.port.is_some() {
            problems.push(ConfigError::new(
                format!("{prefix}port"),
                "needs `host` (or put the port in `url`)",
            ));
        }
        if let Some(url) = &self.url {
            if let Err(e) = url.parse::<tokio_postgres::Config>() {
                problems.push(ConfigError::new(
                    format!("{prefix}url"),
                    format!("is not a valid PostgreSQL URL or key/value string: {e}"),
                ));
            }
        }
        if self.host.as_deref() == Some("") {
            problems.push(ConfigError::new(format!("{prefix}host"), "is empty"));
        }
        problems
    }

    /// `self` with `shared` filling what it leaves out.
    fn over(&self, shared: &PgConnect) -> PgConnect {
        let server = if self.names_server() { self } else { shared };
        PgConnect {
            url: server.url.clone(),
            host: server.host.clone(),
            port: server.port,
            user: self.user.clone().or_else(|| shared.user.clone()),
            password: self.password.clone().or_else(|| shared.password.clone()),
            dbname: self.dbname.clone().or_else(|| shared.dbname.clone()),
            application_name: self
                .application_name
                .clone()
                .or_else(|| shared.application_name.clone()),
        }
    }
}

impl fmt::Debug for PgConnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgConnect")
            .field("url", &self.url.as_deref().map(redact_url))
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("dbname", &self.dbname)
            .field("application_name", &self.application_name)
            .finish()
    }
}

/// `url` fit to be shown: a URL with its password replaced by `<hidden>`; a key/value
/// string is not shown at all (`<key/value string>`).
///
/// ```
/// use bulkhead_pool::postgres::redact_url;
///
/// assert_eq!(redact_url("postgres://app:s3cret@db/app"), "postgres://app:<hidden>@db/app");
/// ```
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<key/value string>".to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let hidden = if userinfo.contains(':') {
                ":<hidden>"
            } else {
                ""
            };
            let query = if tail.contains("password=") {
                "?<hidden>"
            } else {
                tail
            };
            format!("{scheme}://{user}{hidden}@{hosts}{query}")
        }
        None if tail.contains("password=") => format!("{scheme}://{authority}?<hidden>"),
        None => url.to_owned(),
    }
}

/// How a connection is checked before it is handed out again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Recycling {
    /// Hand a connection out again without a round trip. A connection the client knows
    /// is closed is dropped when it comes back (deadpool also skips it at checkout); one
    /// that died while idle fails its next query, and is then dropped when it comes back.
    #[default]
    Fast,
    /// Also run an empty query before handing a connection out: one round trip per
    /// checkout, and no checkout ever gets a dead connection.
    Verified,
}

/// One pool of PostgreSQL connections in its compartment.
///
/// ```
/// use std::time::Duration;
/// use bulkhead_pool::postgres::{PgConnect, PgPoolConfig};
///
/// let reads = PgPoolConfig {
///     connection: PgConnect::url("postgres://app@db.internal/app"),
///     max_size: 16,
///     statement_timeout: Some(Duration::from_secs(2)),
///     read_only: true,
///     ..PgPoolConfig::default()
/// };
/// assert!(reads.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields, default))]
pub struct PgPoolConfig {
    /// Where to connect (see [`PgConnect`]); in a [`PostgresConfig`], only what differs
    /// from the shared connection.
    ///
    /// Default: nothing set.
    pub connection: PgConnect,
    /// Connections in the pool, which is also the number of slots of the compartment,
    /// `1..=1_000_000`.
    ///
    /// Default: 10.
    pub max_size: usize,
    /// How long a checkout may wait for a free connection; zero means fail fast. At most
    /// one hour.
    ///
    /// Default: 1s.
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub max_wait: Duration,
    /// Checkouts allowed to wait at once. At most 1,000,000.
    ///
    /// Default: 1024.
    pub max_waiting: usize,
    /// How long opening a connection (TCP connect, startup, authentication) or checking
    /// one may take before the checkout fails with a timeout (with bb8, also how long an
    /// admitted checkout waits for bb8 to open one). Above zero, at most one hour.
    ///
    /// Default: 5s.
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub connect_timeout: Duration,
    /// `statement_timeout` of every connection: the server cancels statements that run
    /// longer (SQLSTATE `57014`). Rounded up to whole milliseconds; zero disables it. At
    /// most 24 hours.
    ///
    /// Default: none (the server's setting).
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub statement_timeout: Option<Duration>,
    /// How a connection is checked before it is handed out again: `fast` or `verified`.
    ///
    /// Default: `fast`.
    pub recycling: Recycling,
    /// Sets `default_transaction_read_only` on every connection, so the server refuses
    /// writes through this pool (SQLSTATE `25006`).
    ///
    /// Default: false.
    pub read_only: bool,
    /// Suggested retry delay carried by rejections.
    ///
    /// Default: none.
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub retry_after: Option<Duration>,
}

impl Default for PgPoolConfig {
    fn default() -> Self {
        PgPoolConfig {
            connection: PgConnect::default(),
            max_size: 10,
            max_wait: Duration::from_secs(1),
            max_waiting: 1024,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: None,
            recycling: Recycling::Fast,
            read_only: false,
            retry_after: None,
        }
    }
}

impl PgPoolConfig {
    /// The defaults, connecting to `url`.
    pub fn new(url: impl Into<String>) -> Self {
        PgPoolConfig {
            connection: PgConnect::url(url),
            ..PgPoolConfig::default()
        }
    }

    /// Sets `max_size`.
    pub fn max_size(mut self, max_size: usize) -> Self {
        self.max_size = max_size;
        self
    }

    /// Sets `max_wait`.
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// Sets `connect_timeout`.
    pub fn connect_timeout(mut self, connect_timeout: Duration) -> Self {
        self.connect_timeout = connect_timeout;
        self
    }

    /// Sets `statement_timeout`.
    pub fn statement_timeout(mut self, statement_timeout: Option<Duration>) -> Self {
        self.statement_timeout = statement_timeout;
        self
    }

    /// Sets `recycling`.
    pub fn recycling(mut self, recycling: Recycling) -> Self {
        self.recycling = recycling;
        self
    }

    /// Sets `read_only`.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Every problem with this pool on its own (empty when it is valid), including a
    /// missing server.
    pub fn problems(&self) -> Vec<ConfigError> {
        let mut problems = self.pool_problems("");
        if !self.connection.names_server() {
            problems.push(no_server("connection."));
        }
        problems
    }

    /// Checks the pool on its own, returning the first problem.
    pub fn validate(&self) -> Result<(), ConfigError> {
        first(self.problems())
    }

    /// Problems of everything but a missing server, keys prefixed with `prefix`.
    fn pool_problems(&self, prefix: &str) -> Vec<ConfigError> {
        let mut problems = self.connection.problems(&format!("{prefix}connection."));
        if self.max_size == 0 {
            problems.push(ConfigError::new(
                format!("{prefix}max_size"),
                "must be at least 1 (got 0)",
            ));
        } else if self.max_size > MAX_SIZE_LIMIT {
            problems.push(ConfigError::new(
                format!("{prefix}max_size"),
                format!("must be at most {MAX_SIZE_LIMIT} (got {})", self.max_size),
            ));
        }
        if self.connect_timeout.is_zero() {
            problems.push(ConfigError::new(
                format!("{prefix}connect_timeout"),
                "must be above zero",
            ));
        } else if self.connect_timeout > MAX_CONNECT_TIMEOUT {
            problems.push(ConfigError::new(
                format!("{prefix}connect_timeout"),
                format!(
                    "must be at most {MAX_CONNECT_TIMEOUT:?} (got {:?})",
                    self.connect_timeout
                ),
            ));
        }
        if let Some(timeout) = self.statement_timeout {
            if timeout > MAX_STATEMENT_TIMEOUT {
                problems.push(ConfigError::new(
                    format!("{prefix}statement_timeout"),
                    format!("must be at most {MAX_STATEMENT_TIMEOUT:?} (got {timeout:?})"),
                ));
            }
        }
        for problem in self.admission().problems() {
            problems.push(ConfigError::new(
                format!("{prefix}{}", problem.key()),
                problem.message(),
            ));
        }
        problems
    }

    /// How the pool's compartment admits checkouts: `max_wait`, `max_waiting`,
    /// `retry_after`.
    pub fn admission(&self) -> PoolConfig {
        PoolConfig {
            max_wait: self.max_wait,
            max_waiting: self.max_waiting,
            retry_after: self.retry_after,
        }
    }

    /// Takes `max_wait`, `max_waiting` and `retry_after` from `admission`.
    pub fn set_admission(&mut self, admission: &PoolConfig) {
        self.max_wait = admission.max_wait;
        self.max_waiting = admission.max_waiting;
        self.retry_after = admission.retry_after;
    }

    /// The tokio-postgres configuration of this pool's connections, with `shared`
    /// filling what the pool leaves out and `name` (the compartment's) as the default
    /// application name. Fails when no server is named or the URL does not parse.
    pub fn pg_config(
        &self,
        shared: &PgConnect,
        name: &str,
    ) -> Result<tokio_postgres::Config, ConfigError> {
        let connection = self.connection.over(shared);
        let mut config = match (&connection.url, &connection.host) {
            (Some(url), _) => url.parse::<tokio_postgres::Config>().map_err(|e| {
                ConfigError::new(
                    "connection.url",
                    format!("is not a valid PostgreSQL URL or key/value string: {e}"),
                )
            })?,
            (None, Some(host)) => {
                let mut config = tokio_postgres::Config::new();
                config.host(host);
                if let Some(port) = connection.port {
                    config.port(port);
                }
                config
            }
            (None, None) => return Err(no_server("connection.")),
        };
        if let Some(user) = &connection.user {
            config.user(user);
        }
        if let Some(password) = &connection.password {
            config.password(password);
        }
        if let Some(dbname) = &connection.dbname {
            config.dbname(dbname);
        }
        match &connection.application_name {
            Some(app) => {
                config.application_name(app);
            }
            None if config.get_application_name().is_none() => {
                config.application_name(name);
            }
            None => {}
        }
        config.connect_timeout(self.connect_timeout);
        let mut options = config.get_options().unwrap_or_default().to_owned();
        if let Some(timeout) = self.statement_timeout {
            let millis = timeout.as_nanos().div_ceil(1_000_000);
            push_option(&mut options, &format!("-c statement_timeout={millis}"));
        }
        if self.read_only {
            push_option(&mut options, "-c default_transaction_read_only=on");
        }
        if !options.is_empty() {
            config.options(options);
        }
        Ok(config)
    }
}

fn push_option(options: &mut String, option: &str) {
    if !options.is_empty() {
        options.push(' ');
    }
    options.push_str(option);
}

fn no_server(prefix: &str) -> ConfigError {
    ConfigError::new(
        format!("{prefix}url"),
        "is not set and neither is `host`: give the server to connect to",
    )
}

/// A read pool and a write pool, like the guide's `DatabaseBulkhead`.
///
/// Both pools share `connection` unless they name their own server; each has its own
/// size, waits and timeouts, so a flood of slow reads cannot take the connections
/// writes need.
///
/// ```
/// # #[cfg(feature = "serde")]
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use bulkhead_pool::postgres::PostgresConfig;
///
/// let config: PostgresConfig = toml::from_str(r#"
///     [connection]
///     url = "postgres://app@db.internal/app"
///
///     [read]
///     max_size = 16
///     statement_timeout = "2s"
///     read_only = true
///
///     [write]
///     max_size = 4
///     max_wait = "250ms"
/// "#)?;
/// assert!(config.validate().is_ok());
/// assert_eq!(config.read.statement_timeout, Some(Duration::from_secs(2)));
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "serde"))]
/// # fn main() {}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields, default))]
pub struct PostgresConfig {
    /// The server both pools connect to, unless a pool names its own.
    ///
    /// Default: nothing set.
    pub connection: PgConnect,
    /// The read pool.
    ///
    /// Default: [`PgPoolConfig::default()`].
    pub read: PgPoolConfig,
    /// The write pool.
    ///
    /// Default: [`PgPoolConfig::default()`].
    pub write: PgPoolConfig,
}

impl PostgresConfig {
    /// Both pools with their defaults, connecting to `url`.
    pub fn new(url: impl Into<String>) -> Self {
        PostgresConfig {
            connection: PgConnect::url(url),
            ..PostgresConfig::default()
        }
    }

    /// Sets the size of the read pool and of the write pool.
    pub fn sizes(mut self, read: usize, write: usize) -> Self {
        self.read.max_size = read;
        self.write.max_size = write;
        self
    }

    /// Every problem with this configuration (empty when it is valid). Keys are
    /// prefixed with the pool (`read.max_size`).
    pub fn problems(&self) -> Vec<ConfigError> {
        let mut problems = self.connection.problems("connection.");
        for (prefix, pool) in [("read.", &self.read), ("write.", &self.write)] {
            problems.extend(pool.pool_problems(prefix));
            if !self.connection.names_server() && !pool.connection.names_server() {
                problems.push(no_server(&format!("{prefix}connection.")));
            }
        }
        problems
    }

    /// Checks the configuration, returning the first problem.
    pub fn validate(&self) -> Result<(), ConfigError> {
        first(self.problems())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_passwords() {
        let connect = PgConnect {
            url: Some("postgres://app:s3cret@db:5432/app?sslmode=disable".into()),
            password: Some("hunter2".into()),
            ..PgConnect::default()
        };
        let shown = format!("{connect:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("hunter2"),
            "{shown}"
        );
        assert!(shown.contains("postgres://app:<hidden>@db:5432/app?sslmode=disable"));
        assert_eq!(
            redact_url("host=db password=x"),
            "<key/value string>",
            "key/value strings are not shown"
        );
        assert_eq!(
            redact_url("postgres://db/app?password=x"),
            "postgres://db?<hidden>"
        );
    }

    #[test]
    fn a_pool_naming_its_own_server_replaces_the_shared_one_and_keeps_the_rest() {
        let shared = PgConnect {
            url: Some("postgres://app@primary:5432/app".into()),
            password: Some("pw".into()),
            ..PgConnect::default()
        };
        let pool = PgPoolConfig {
            connection: PgConnect::host("replica", 6432),
            statement_timeout: Some(Duration::from_micros(1500)),
            read_only: true,
            ..PgPoolConfig::default()
        };
        let config = pool.pg_config(&shared, "db.read").unwrap();
        assert_eq!(config.get_ports(), &[6432]);
        assert_eq!(config.get_password(), Some(&b"pw"[..]));
        assert_eq!(config.get_application_name(), Some("db.read"));
        assert_eq!(
            config.get_options(),
            Some("-c statement_timeout=2 -c default_transaction_read_only=on")
        );
        assert_eq!(config.get_connect_timeout(), Some(&Duration::from_secs(5)));
    }

    #[test]
    fn options_from_the_url_are_kept() {
        let pool = PgPoolConfig::new("postgres://app@db/app?options=-c%20search_path%3Dx")
            .statement_timeout(Some(Duration::from_secs(1)));
        let config = pool.pg_config(&PgConnect::default(), "db").unwrap();
        assert_eq!(
            config.get_options(),
            Some("-c search_path=x -c statement_timeout=1000")
        );
    }

    #[test]
    fn problems_name_the_pool_and_the_key() {
        let config = PostgresConfig {
            read: PgPoolConfig {
                max_size: 0,
                ..PgPoolConfig::default()
            },
            write: PgPoolConfig {
                connection: PgConnect {
                    url: Some("postgres://db".into()),
                    port: Some(1),
                    ..PgConnect::default()
                },
                connect_timeout: Duration::ZERO,
                ..PgPoolConfig::default()
            },
            ..PostgresConfig::default()
        };
        let keys: Vec<String> = config
            .problems()
            .iter()
            .map(|p| p.key().to_owned())
            .collect();
        assert_eq!(
            keys,
            [
                "read.max_size",
                "read.connection.url",
                "write.connection.url",
                "write.connect_timeout"
            ]
        );
        assert!(PostgresConfig::new("postgres://db/app").validate().is_ok());
        let bad_url = PgPoolConfig::new("postgres://db:notaport/app").validate();
        assert_eq!(bad_url.unwrap_err().key(), "connection.url");
    }
}
