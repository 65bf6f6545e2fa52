//! The bb8 manager of PostgreSQL connections.

use std::error::Error;
use std::fmt;
use std::time::Duration;

use bb8::ManageConnection;
use bb8_postgres::PostgresConnectionManager;
use tokio_postgres::{Client, NoTls};

/// Opens PostgreSQL connections for bb8, each attempt bounded by a timeout.
///
/// bb8-postgres' manager with a deadline on opening and on checking a connection:
/// tokio-postgres bounds only the TCP connect, so a server that accepts connections but
/// never answers would otherwise hold a pool slot forever.
#[derive(Debug, Clone)]
pub struct PgManager {
    inner: PostgresConnectionManager<NoTls>,
    timeout: Duration,
}

impl PgManager {
    /// Connections made from `config`, each opened or checked within `timeout`.
    pub fn new(config: tokio_postgres::Config, timeout: Duration) -> Self {
        PgManager {
            inner: PostgresConnectionManager::new(config, NoTls),
            timeout,
        }
    }
}

/// Opening or checking a PostgreSQL connection failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum PgConnectError {
    /// tokio-postgres reported an error: the server refused the connection, the
    /// credentials were wrong, the connection was closed, ...
    Postgres(tokio_postgres::Error),
    /// The server did not answer in time.
    Timeout {
        /// The deadline that passed.
        after: Duration,
    },
}

impl fmt::Display for PgConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PgConnectError::Postgres(e) => fmt::Display::fmt(e, f),
            PgConnectError::Timeout { after } => {
                write!(f, "the server did not answer within {after:?}")
            }
        }
    }
}

impl Error for PgConnectError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            PgConnectError::Postgres(e) => Some(e),
            PgConnectError::Timeout { .. } => None,
        }
    }
}

impl ManageConnection for PgManager {
    type Connection = Client;
    type Error = PgConnectError;

    async fn connect(&self) -> Result<Client, PgConnectError> {
        match tokio::time::timeout(self.timeout, self.inner.connect()).await {
            Ok(result) => result.map_err(PgConnectError::Postgres),
            Err(_) => Err(PgConnectError::Timeout {
                after: self.timeout,
            }),
        }
    }

    async fn is_valid(&self, conn: &mut Client) -> Result<(), PgConnectError> {
        match tokio::time::timeout(self.timeout, self.inner.is_valid(conn)).await {
            Ok(result) => result.map_err(PgConnectError::Postgres),
            Err(_) => Err(PgConnectError::Timeout {
                after: self.timeout,
            }),
        }
    }

    fn has_broken(&self, conn: &mut Client) -> bool {
        conn.is_closed()
    }
}
