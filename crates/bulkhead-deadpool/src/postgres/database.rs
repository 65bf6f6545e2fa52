//! PostgreSQL pools in compartments, and the read/write pair.

use std::fmt;

use bulkhead_core::{ConfigError, SharedObserver};
use deadpool::Runtime;
use deadpool_postgres::{ClientWrapper, Manager, ManagerConfig, RecyclingMethod};
use tokio_postgres::NoTls;

use super::{PgConnect, PgPoolConfig, PostgresConfig, Recycling};
use crate::{CheckoutError, DeadpoolBulkhead, Pooled};

/// A compartment over a deadpool-postgres pool.
pub type PgPool = DeadpoolBulkhead<Manager>;
/// A PostgreSQL client checked out of a [`PgPool`]; dereferences to
/// [`tokio_postgres::Client`] (through deadpool-postgres' `ClientWrapper`, which adds
/// `prepare_cached`). `PgClient<'static>` comes from
/// [`get_owned`](crate::DeadpoolBulkhead::get_owned).
pub type PgClient<'a> = Pooled<'a, Manager>;
/// Why a PostgreSQL checkout failed.
pub type PgError = CheckoutError<tokio_postgres::Error>;

fn is_closed(client: &ClientWrapper) -> bool {
    client.is_closed()
}

impl DeadpoolBulkhead<Manager> {
    /// A compartment called `name` over a new pool of PostgreSQL connections.
    ///
    /// No connection is opened here: the pool opens them as checkouts need them, each
    /// bounded by `connect_timeout`. Connections the client knows are closed are dropped
    /// when they come back and never handed out again.
    pub fn postgres(
        name: &str,
        config: &PgPoolConfig,
        observer: Option<SharedObserver>,
    ) -> Result<Self, ConfigError> {
        config.validate().map_err(|e| e.in_compartment(name))?;
        build_pool(name, &PgConnect::default(), config, observer)
    }
}

fn build_pool(
    name: &str,
    shared: &PgConnect,
    config: &PgPoolConfig,
    observer: Option<SharedObserver>,
) -> Result<PgPool, ConfigError> {
    let pg_config = config
        .pg_config(shared, name)
        .map_err(|e| e.in_compartment(name))?;
    let recycling_method = match config.recycling {
        Recycling::Fast => RecyclingMethod::Fast,
        Recycling::Verified => RecyclingMethod::Verified,
    };
    let manager = Manager::from_config(pg_config, NoTls, ManagerConfig { recycling_method });
    let pool = deadpool_postgres::Pool::builder(manager)
        .max_size(config.max_size)
        .runtime(Runtime::Tokio1)
        .create_timeout(Some(config.connect_timeout))
        .recycle_timeout(Some(config.connect_timeout))
        .build()
        .map_err(|e| ConfigError::new("max_size", e.to_string()).in_compartment(name))?;
    let mut builder = DeadpoolBulkhead::builder(name)
        .max_wait(config.max_wait)
        .max_waiting(config.max_waiting)
        .retry_after(config.retry_after)
        .discard_if(is_closed);
    if let Some(observer) = observer {
        builder = builder.observer(observer);
    }
    builder.build(pool)
}

/// A read pool and a write pool, each in its own compartment: the guide's
/// `DatabaseBulkhead`.
///
/// The compartments are called `<name>.read` and `<name>.write`. Handles are cheap to
/// clone.
///
/// ```no_run
/// use bulkhead_deadpool::postgres::{DatabaseBulkhead, PostgresConfig};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = PostgresConfig::new("postgres://app@localhost/app").sizes(16, 4);
/// let db = DatabaseBulkhead::new("db", &config)?;
///
/// let reader = db.read().await?;
/// let row = reader.query_one("SELECT count(*) FROM orders", &[]).await?;
/// let orders: i64 = row.get(0);
///
/// let mut writer = db.write().await?;
/// let inserted = writer.execute("INSERT INTO audit (n) VALUES ($1)", &[&orders]).await;
/// writer.record(&inserted);
/// inserted?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct DatabaseBulkhead {
    read: PgPool,
    write: PgPool,
}

/// Builds a [`DatabaseBulkhead`] with an observer.
#[derive(Clone)]
pub struct DatabaseBuilder {
    name: String,
    config: PostgresConfig,
    observer: Option<SharedObserver>,
}

impl DatabaseBuilder {
    /// Replaces the configuration.
    pub fn config(mut self, config: PostgresConfig) -> Self {
        self.config = config;
        self
    }

    /// Attaches an observer to both compartments.
    pub fn observer(mut self, observer: SharedObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Validates the whole configuration, then builds both pools. Opens no connection.
    pub fn build(self) -> Result<DatabaseBulkhead, ConfigError> {
        let name = &self.name;
        self.config
            .validate()
            .map_err(|e| e.in_compartment(name.as_str()))?;
        let read = build_pool(
            &format!("{name}.read"),
            &self.config.connection,
            &self.config.read,
            self.observer.clone(),
        )?;
        let write = build_pool(
            &format!("{name}.write"),
            &self.config.connection,
            &self.config.write,
            self.observer,
        )?;
        Ok(DatabaseBulkhead { read, write })
    }
}

impl fmt::Debug for DatabaseBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseBuilder")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl DatabaseBulkhead {
    /// Builds the read and write pools of `config`, in compartments `<name>.read` and
    /// `<name>.write`. Opens no connection.
    pub fn new(name: &str, config: &PostgresConfig) -> Result<Self, ConfigError> {
        Self::builder(name).config(config.clone()).build()
    }

    /// Starts building a pair called `name` with the default configuration.
    pub fn builder(name: impl Into<String>) -> DatabaseBuilder {
        DatabaseBuilder {
            name: name.into(),
            config: PostgresConfig::default(),
            observer: None,
        }
    }

    /// A connection from the read pool, waiting as the read pool is configured.
    pub async fn read(&self) -> Result<PgClient<'_>, PgError> {
        self.read.get().await
    }

    /// A connection from the write pool, waiting as the write pool is configured.
    pub async fn write(&self) -> Result<PgClient<'_>, PgError> {
        self.write.get().await
    }

    /// The read pool's compartment, for its stats and status.
    pub fn read_pool(&self) -> &PgPool {
        &self.read
    }

    /// The write pool's compartment, for its stats and status.
    pub fn write_pool(&self) -> &PgPool {
        &self.write
    }

    /// Closes both compartments and their pools.
    pub fn close(&self) {
        self.read.close();
        self.write.close();
    }
}

impl fmt::Debug for DatabaseBulkhead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseBulkhead")
            .field("read", &self.read)
            .field("write", &self.write)
            .finish()
    }
}
