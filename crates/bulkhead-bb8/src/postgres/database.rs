//! PostgreSQL pools over bb8, and the read/write pair over them.

use std::future::Future;

use bulkhead_core::{ConfigError, SharedObserver};
use bulkhead_pool::postgres::PostgresPool;
use bulkhead_pool::PoolConfig;

use super::{PgConnect, PgConnectError, PgManager, PgPoolConfig, Recycling};
use crate::{Bb8Bulkhead, CheckoutError, PoolErrors, Pooled};

/// A compartment over a bb8 pool of PostgreSQL connections.
pub type PgPool = Bb8Bulkhead<PgManager>;
/// A PostgreSQL client checked out of a [`PgPool`]; dereferences to
/// [`tokio_postgres::Client`]. `PgClient<'static>` comes from
/// [`get_owned`](crate::Bb8Bulkhead::get_owned).
pub type PgClient<'a> = Pooled<'a, PgManager>;
/// Why a PostgreSQL checkout failed.
pub type PgError = CheckoutError<PgConnectError>;

/// A read pool and a write pool over bb8, each in its own compartment: the guide's
/// `DatabaseBulkhead`.
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
///
/// Build it inside a tokio runtime: bb8 starts its reaper tasks then. A bb8 pool cannot
/// be resized: [`reconfigure`](bulkhead_pool::postgres::DatabaseBulkhead::reconfigure)
/// changes the waits only, and closing the pair refuses new checkouts while bb8 keeps
/// its idle connections until the last handle is dropped.
pub type DatabaseBulkhead = bulkhead_pool::postgres::DatabaseBulkhead<PgPool>;
/// Builds a [`DatabaseBulkhead`] with an observer.
pub type DatabaseBuilder = bulkhead_pool::postgres::DatabaseBuilder<PgPool>;

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
        <Self as PostgresPool>::standalone(name, config, observer)
    }
}

impl PostgresPool for Bb8Bulkhead<PgManager> {
    type Client<'a> = PgClient<'a>;
    type Error = PgError;
    const PAIR_KIND: &'static str = "bb8-postgres";
    const POOL_KIND: &'static str = crate::KIND;

    fn build(
        name: &str,
        shared: &PgConnect,
        config: &PgPoolConfig,
        observer: Option<SharedObserver>,
    ) -> Result<Self, ConfigError> {
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
            .config(config.admission())
            .pool_errors(errors);
        if let Some(observer) = observer {
            builder = builder.observer(observer);
        }
        builder.build(pool)
    }

    fn checkout(&self) -> impl Future<Output = Result<PgClient<'_>, PgError>> + Send {
        self.get()
    }

    fn set_admission(&self, admission: &PoolConfig) -> Result<(), ConfigError> {
        self.reconfigure(admission)
    }

    /// bb8 fixes a pool's size when it is built.
    fn set_max_size(&self, _max_size: usize) -> Result<bool, ConfigError> {
        Ok(false)
    }
}
