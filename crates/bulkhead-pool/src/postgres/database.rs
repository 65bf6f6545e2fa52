//! The read/write pair over any pool backend.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use bulkhead_core::{Compartment, CompartmentInfo, ConfigError, SharedObserver, Stats};

use super::{PgConnect, PgPoolConfig, PostgresConfig};
use crate::PoolConfig;

/// A compartment over a pool of PostgreSQL connections, as [`DatabaseBulkhead`] uses
/// it. Each pool adapter implements it for its `postgres::PgPool`.
pub trait PostgresPool: Compartment + Clone + fmt::Debug + Send + Sync + Sized + 'static {
    /// A connection checked out of the pool.
    type Client<'a>
    where
        Self: 'a;
    /// Why a checkout failed.
    type Error;

    /// The kind the read/write pair over this backend reports as one compartment, such
    /// as `"postgres"`.
    const PAIR_KIND: &'static str;

    /// The kind each pool reports as a compartment, such as `"deadpool"`.
    const POOL_KIND: &'static str;

    /// Builds a compartment called `name` over a new pool: the connection is `config`'s,
    /// with `shared` filling what it leaves out. Opens no connection. The configuration
    /// is already validated.
    fn build(
        name: &str,
        shared: &PgConnect,
        config: &PgPoolConfig,
        observer: Option<SharedObserver>,
    ) -> Result<Self, ConfigError>;

    /// Builds a compartment called `name` over a new pool of its own (no pair around
    /// it): validates `config`, naming the compartment in the error, then
    /// [`build`](Self::build)s with no shared connection settings.
    fn standalone(
        name: &str,
        config: &PgPoolConfig,
        observer: Option<SharedObserver>,
    ) -> Result<Self, ConfigError> {
        config.validate().map_err(|e| e.in_compartment(name))?;
        Self::build(name, &PgConnect::default(), config, observer)
    }

    /// Checks a connection out, waiting as the compartment is configured.
    fn checkout(&self) -> impl Future<Output = Result<Self::Client<'_>, Self::Error>> + Send;

    /// Applies new waiting rules to the running compartment.
    fn set_admission(&self, admission: &PoolConfig) -> Result<(), ConfigError>;

    /// Changes the number of connections (and slots) of the running pool, returning
    /// whether it could: `Ok(false)` when the backend cannot resize a pool.
    fn set_max_size(&self, max_size: usize) -> Result<bool, ConfigError>;
}

/// A read pool and a write pool, each in its own compartment: the guide's
/// `DatabaseBulkhead`, over the pool backend `P` (each adapter names it
/// `postgres::DatabaseBulkhead`).
///
/// The compartments are called `<name>.read` and `<name>.write`. Handles are cheap to
/// clone and share both pools.
///
/// The pair is itself a [`Compartment`] called `<name>`, of the backend's
/// [`PAIR_KIND`](PostgresPool::PAIR_KIND), whose stats add up both pools' (a registry
/// builds and publishes it as one); each pool's own stats are
/// [`read_pool`](Self::read_pool)`().stats()` and
/// [`write_pool`](Self::write_pool)`().stats()`.
pub struct DatabaseBulkhead<P> {
    info: CompartmentInfo,
    read: P,
    write: P,
    /// The configuration in force, changed by [`reconfigure`](Self::reconfigure).
    config: Arc<Mutex<PostgresConfig>>,
}

impl<P: Clone> Clone for DatabaseBulkhead<P> {
    fn clone(&self) -> Self {
        DatabaseBulkhead {
            info: self.info.clone(),
            read: self.read.clone(),
            write: self.write.clone(),
            config: Arc::clone(&self.config),
        }
    }
}

/// Builds a [`DatabaseBulkhead`] with observers.
pub struct DatabaseBuilder<P> {
    name: String,
    config: PostgresConfig,
    read_observer: Option<SharedObserver>,
    write_observer: Option<SharedObserver>,
    pools: std::marker::PhantomData<fn() -> P>,
}

impl<P> Clone for DatabaseBuilder<P> {
    fn clone(&self) -> Self {
        DatabaseBuilder {
            name: self.name.clone(),
            config: self.config.clone(),
            read_observer: self.read_observer.clone(),
            write_observer: self.write_observer.clone(),
            pools: std::marker::PhantomData,
        }
    }
}

impl<P: PostgresPool> DatabaseBuilder<P> {
    /// Replaces the configuration.
    pub fn config(mut self, config: PostgresConfig) -> Self {
        self.config = config;
        self
    }

    /// Attaches the same observer to both pools, for observers that tell compartments
    /// apart by the `CompartmentInfo` of each event (an OpenTelemetry observer does).
    /// An observer made for one compartment, such as a `bulkhead-metrics` observer,
    /// goes to one pool: use [`read_observer`](Self::read_observer) and
    /// [`write_observer`](Self::write_observer).
    pub fn observer(mut self, observer: SharedObserver) -> Self {
        self.read_observer = Some(observer.clone());
        self.write_observer = Some(observer);
        self
    }

    /// Attaches an observer to the read pool (compartment `<name>.read`).
    pub fn read_observer(mut self, observer: SharedObserver) -> Self {
        self.read_observer = Some(observer);
        self
    }

    /// Attaches an observer to the write pool (compartment `<name>.write`).
    pub fn write_observer(mut self, observer: SharedObserver) -> Self {
        self.write_observer = Some(observer);
        self
    }

    /// The names the read and write pools get: `<name>.read` and `<name>.write`.
    pub fn pool_names(&self) -> (String, String) {
        (
            format!("{}.read", self.name),
            format!("{}.write", self.name),
        )
    }

    /// Validates the whole configuration, then builds both pools. Opens no connection.
    ///
    /// bb8 pools must be built inside a tokio runtime (bb8 starts its reaper tasks).
    pub fn build(self) -> Result<DatabaseBulkhead<P>, ConfigError> {
        let name = &self.name;
        self.config
            .validate()
            .map_err(|e| e.in_compartment(name.as_str()))?;
        let (read_name, write_name) = self.pool_names();
        let read = P::build(
            &read_name,
            &self.config.connection,
            &self.config.read,
            self.read_observer,
        )?;
        let write = P::build(
            &write_name,
            &self.config.connection,
            &self.config.write,
            self.write_observer,
        )?;
        Ok(DatabaseBulkhead {
            info: CompartmentInfo::new(self.name, P::PAIR_KIND),
            read,
            write,
            config: Arc::new(Mutex::new(self.config)),
        })
    }
}

impl<P> fmt::Debug for DatabaseBuilder<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseBuilder")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("read_observer", &self.read_observer.is_some())
            .field("write_observer", &self.write_observer.is_some())
            .finish()
    }
}

impl<P: PostgresPool> DatabaseBulkhead<P> {
    /// Builds the read and write pools of `config`, in compartments `<name>.read` and
    /// `<name>.write`. Opens no connection.
    ///
    /// bb8 pools must be built inside a tokio runtime (bb8 starts its reaper tasks).
    pub fn new(name: &str, config: &PostgresConfig) -> Result<Self, ConfigError> {
        Self::builder(name).config(config.clone()).build()
    }

    /// Starts building a pair called `name` with the default configuration.
    pub fn builder(name: impl Into<String>) -> DatabaseBuilder<P> {
        DatabaseBuilder {
            name: name.into(),
            config: PostgresConfig::default(),
            read_observer: None,
            write_observer: None,
            pools: std::marker::PhantomData,
        }
    }

    /// A connection from the read pool, waiting as the read pool is configured.
    pub async fn read(&self) -> Result<P::Client<'_>, P::Error> {
        self.read.checkout().await
    }

    /// A connection from the write pool, waiting as the write pool is configured.
    pub async fn write(&self) -> Result<P::Client<'_>, P::Error> {
        self.write.checkout().await
    }

    /// The read pool's compartment, for its stats and status.
    pub fn read_pool(&self) -> &P {
        &self.read
    }

    /// The write pool's compartment, for its stats and status.
    pub fn write_pool(&self) -> &P {
        &self.write
    }

    /// The configuration in force.
    pub fn config(&self) -> PostgresConfig {
        self.config
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Applies what can change while running and returns the configuration now in
    /// force; wherever it differs from `wanted`, the pair must be built again.
    ///
    /// Each pool's `max_wait`, `max_waiting` and `retry_after` change live (checkouts
    /// already waiting keep their wait), and its `max_size` where the backend can
    /// resize a pool (deadpool: without taking connections from their holders; bb8
    /// cannot). Connection parameters, `connect_timeout`, `statement_timeout`,
    /// `recycling` and `read_only` are fixed when the pool opens connections.
    ///
    /// Nothing changes when `wanted` is invalid.
    pub fn reconfigure(&self, wanted: &PostgresConfig) -> Result<PostgresConfig, ConfigError> {
        wanted.validate()?;
        let mut guard = self.config.lock().unwrap_or_else(PoisonError::into_inner);
        let config = &mut *guard;
        for (pool, now, wanted) in [
            (&self.read, &mut config.read, &wanted.read),
            (&self.write, &mut config.write, &wanted.write),
        ] {
            let admission = wanted.admission();
            if admission != now.admission() {
                pool.set_admission(&admission)?;
                now.set_admission(&admission);
            }
            if wanted.max_size != now.max_size && pool.set_max_size(wanted.max_size)? {
                now.max_size = wanted.max_size;
            }
        }
        Ok(guard.clone())
    }

    /// Closes both compartments (and, where the backend can, their pools): no new
    /// checkouts.
    pub fn close(&self) {
        self.read.close();
        self.write.close();
    }
}

impl<P: PostgresPool> Compartment for DatabaseBulkhead<P> {
    fn info(&self) -> &CompartmentInfo {
        &self.info
    }

    /// Both pools' stats added up: capacity, slots in use, checkouts waiting and every
    /// counter; closed once both are.
    fn stats(&self) -> Stats {
        let (mut sum, write) = (self.read.stats(), self.write.stats());
        sum.capacity += write.capacity;
        sum.target_capacity += write.target_capacity;
        sum.in_use += write.in_use;
        sum.waiting += write.waiting;
        sum.max_waiting += write.max_waiting;
        sum.admitted += write.admitted;
        sum.rejected.full += write.rejected.full;
        sum.rejected.queue_full += write.rejected.queue_full;
        sum.rejected.timeout += write.rejected.timeout;
        sum.rejected.closed += write.rejected.closed;
        sum.abandoned += write.abandoned;
        sum.completed += write.completed;
        sum.failed += write.failed;
        sum.panicked += write.panicked;
        sum.cancelled += write.cancelled;
        sum.closed &= write.closed;
        sum
    }

    fn close(&self) {
        DatabaseBulkhead::close(self)
    }

    fn is_closed(&self) -> bool {
        self.read.is_closed() && self.write.is_closed()
    }

    /// Both pools' figures added up (connections open, idle).
    fn report_figures(&self, report: &mut dyn FnMut(&'static str, f64)) {
        let mut sums: Vec<(&'static str, f64)> = Vec::new();
        let mut add =
            |name: &'static str, value: f64| match sums.iter_mut().find(|(n, _)| *n == name) {
                Some((_, sum)) => *sum += value,
                None => sums.push((name, value)),
            };
        self.read.report_figures(&mut add);
        self.write.report_figures(&mut add);
        for (name, value) in sums {
            report(name, value);
        }
    }
}

impl<P: fmt::Debug> fmt::Debug for DatabaseBulkhead<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseBulkhead")
            .field("name", &self.info.name())
            .field("read", &self.read)
            .field("write", &self.write)
            .finish()
    }
}
