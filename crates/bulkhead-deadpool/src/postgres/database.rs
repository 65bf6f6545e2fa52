//! PostgreSQL pools over deadpool-postgres, and the read/write pair over them.

use std::future::Future;

use bulkhead_core::{ConfigError, SharedObserver};
use bulkhead_pool::postgres::PostgresPool;
use bulkhead_pool::PoolConfig;
use deadpool::Runtime;
use deadpool_postgres::{ClientWrapper, Manager, ManagerConfig, RecyclingMethod};
use tokio_postgres::NoTls;

use super::{PgConnect, PgPoolConfig, Recycling};
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

/// A read pool and a write pool over deadpool-postgres, each in its own compartment:
/// the guide's `DatabaseBulkhead`.
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
///
/// Both pools resize live ([`reconfigure`](bulkhead_pool::postgres::DatabaseBulkhead::reconfigure)),
/// and closing the pair closes both pools.
pub type DatabaseBulkhead = bulkhead_pool::postgres::DatabaseBulkhead<PgPool>;
/// Builds a [`DatabaseBulkhead`] with an observer.
pub type DatabaseBuilder = bulkhead_pool::postgres::DatabaseBuilder<PgPool>;

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
        <Self as PostgresPool>::standalone(name, config, observer)
    }
}

impl PostgresPool for DeadpoolBulkhead<Manager> {
    type Client<'a> = PgClient<'a>;
    type Error = PgError;
    const PAIR_KIND: &'static str = "postgres";
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
            .config(config.admission())
            .discard_if(is_closed);
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

    fn set_max_size(&self, max_size: usize) -> Result<bool, ConfigError> {
        self.resize(max_size).map(|()| true)
    }
}
