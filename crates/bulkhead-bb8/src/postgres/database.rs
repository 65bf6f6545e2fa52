//! PostgreSQL pools in compartments, and the read/write pair.

use std::fmt;

use bulkhead_core::{ConfigError, SharedObserver};

use super::{PgConnect, PgConnectError, PgManager, PgPoolConfig, PostgresConfig, Recycling};
use crate::{Bb8Bulkhead, CheckoutError, PoolErrors, Pooled};

/// A compartment over a bb8 pool of PostgreSQL connections.
pub type PgPool = Bb8Bulkhead<PgManager>;
/// A PostgreSQL client checked out of a [`PgPool`]; dereferences to
/// [`tokio_postgres::Client`]. `PgClient<'static>` comes from
/// [`get_owned`](crate::Bb8Bulkhead::get_owned).
pub type PgClient<'a> = Pooled<'a, PgManager>;
/// Why a PostgreSQL checkout failed.
pub type PgError = CheckoutError<PgConnectError>;

impl Bb8Bulkhead<PgManager> {
    /// A compartment called `name` over a new pool of PostgreSQL connections.
    ///
    /// No connection is opened here: the pool opens them as checkouts need them, each
    /// attempt bounded by `connect_timeout`, and an admitted checkout gives up when no
    /// connection came within `connect_timeout`, with the last connection error.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime: bb8 starts its reaper task here.
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
    let max_size = u32::try_from(config.max_size).map_err(|_| {
        ConfigError::new(
            "max_size",
            format!("is too large (got {})", config.max_size),
        )
        .in_compartment(name)
    })?;
    let errors = PoolErrors::new();
    let pool = bb8::Pool::builder()
        .max_size(max_size)
        .connection_timeout(config.connect_timeout)
        .test_on_check_out(config.recycling == Recycling::Verified)
        .error_sink(Box::new(errors.clone()))
        .build_unchecked(PgManager::new(pg_config, config.connect_timeout));
    let mut builder = Bb8Bulkhead::builder(name)
        .max_wait(config.max_wait)
        .max_waiting(config.max_waiting)
        .retry_after(config.retry_after)
        .pool_errors(errors);
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
/// use bulkhead_bb8::postgres::{DatabaseBulkhead, PostgresConfig};
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
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime: bb8 starts its reaper tasks here.
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
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime: bb8 starts its reaper tasks here.
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

    /// Closes both compartments: no new checkouts.
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
