//! The running service's parts: compartments from the registry, the simulated
//! downstreams, metrics, the health monitor and the optional database.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bulkhead::deadpool::postgres::DatabaseBulkhead;
use bulkhead::metrics::prometheus::{self, PrometheusHandle};
use bulkhead::metrics::{BulkheadMetrics, HealthMonitor};
use bulkhead::registry::Registry;
use bulkhead::{CallError, Compartment, SemaphoreBulkhead, SharedObserver};
use tokio::task::JoinHandle;

use crate::downstream::{Downstreams, Service};
use crate::error::ApiError;
use crate::{Error, Mode, Options, DATABASE_URL_ENV};

/// The name of the PostgreSQL read/write pair; its compartments are `db.read` and
/// `db.write`.
pub const DATABASE_COMPARTMENT: &str = "db";

/// The table the order routes read and write when a database is configured; created
/// at start-up when missing.
pub const ORDERS_TABLE: &str = "bulkhead_example_orders";

/// The service: its compartments, downstreams, metrics, health monitor and database.
///
/// Built once by [`App::build`]; cheap to clone (clones share everything). Serve it
/// with [`app`](crate::app) and [`serve`](crate::serve).
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    mode: Mode,
    registry: Registry,
    /// The compartment of each service's route, in the order of [`Service::ALL`].
    routes: [SemaphoreBulkhead; 3],
    /// Every compartment, for `/bulkheads`: the registry's, then the database's.
    compartments: Vec<Arc<dyn Compartment>>,
    downstreams: Downstreams,
    metrics: BulkheadMetrics,
    prometheus: PrometheusHandle,
    health: HealthMonitor,
    health_task: Mutex<Option<JoinHandle<()>>>,
    database: Option<DatabaseBulkhead>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = self
            .health_task
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
    }
}

/// What is built while the Prometheus recorder is the current one.
struct Built {
    registry: Registry,
    routes: [SemaphoreBulkhead; 3],
    compartments: Vec<Arc<dyn Compartment>>,
    metrics: BulkheadMetrics,
    database: Option<DatabaseBulkhead>,
}

fn build_compartments(options: &Options) -> Result<Built, Error> {
    let metrics = BulkheadMetrics::new();
    // Each compartment the registry builds gets a metrics observer (and the OTLP one)
    // and is published from the moment it exists.
    let mut builder = Registry::builder()
        .sources(options.sources.clone())
        .attach(metrics.clone());
    if let Some(otel) = &options.otel {
        builder = builder.attach(otel.clone());
    }
    let registry = builder.build().map_err(|e| {
        let files = options
            .sources
            .resolve_files()
            .map(|files| {
                files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_else(|p| p.to_string());
        Error::with_source(format!("cannot load the compartments from {files}"), e)
    })?;

    let route = |service: Service| -> Result<SemaphoreBulkhead, Error> {
        let name = options.mode.compartment(service);
        registry
            .get::<SemaphoreBulkhead>(name)
            .map(|c| (*c).clone())
            .map_err(|e| {
                Error::with_source(
                    format!(
                        "the {} route needs a semaphore compartment called `{name}` in {} mode",
                        service.route(),
                        options.mode
                    ),
                    e,
                )
            })
    };
    let routes = [
        route(Service::User)?,
        route(Service::Order)?,
        route(Service::Payment)?,
    ];

    let mut compartments: Vec<Arc<dyn Compartment>> = registry.compartments().into_iter().collect();
    let database = match &options.database {
        None => None,
        Some(config) => {
            let read = format!("{DATABASE_COMPARTMENT}.read");
            let write = format!("{DATABASE_COMPARTMENT}.write");
            let observer_for = |name: &str| -> SharedObserver {
                let metrics_observer = metrics.observer(name.to_owned());
                match &options.otel {
                    Some(otel) => Arc::new(vec![metrics_observer, otel.shared()]),
                    None => metrics_observer,
                }
            };
            let db = DatabaseBulkhead::builder(DATABASE_COMPARTMENT)
                .config(config.clone())
                .read_observer(observer_for(&read))
                .write_observer(observer_for(&write))
                .build()
                .map_err(|e| Error::with_source(DATABASE_URL_ENV, e))?;
            // The pools are not the registry's: they are published by hand.
            for pool in [db.read_pool(), db.write_pool()] {
                let pool: Arc<dyn Compartment> = Arc::new(pool.clone());
                metrics.register_dyn(Arc::clone(&pool)).map_err(|e| {
                    Error::with_source("cannot publish the database pools' metrics", e)
                })?;
                if let Some(otel) = &options.otel {
                    otel.register_dyn(Arc::clone(&pool));
                }
                compartments.push(pool);
            }
            Some(db)
        }
    };
    Ok(Built {
        registry,
        routes,
        compartments,
        metrics,
        database,
    })
}

async fn prepare_database(db: &DatabaseBulkhead) -> Result<(), Error> {
    let mut client = db.write().await.map_err(|e| {
        Error::with_source(
            format!(
                "{DATABASE_URL_ENV}: cannot get a connection from `{DATABASE_COMPARTMENT}.write`"
            ),
            e.to_string(),
        )
    })?;
    let created = client
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {ORDERS_TABLE} (\
                 id bigint PRIMARY KEY, \
                 placed_at timestamptz NOT NULL DEFAULT now())"
        ))
        .await;
    client.record(&created);
    created.map_err(|e| {
        Error::with_source(
            format!("{DATABASE_URL_ENV}: cannot create the table `{ORDERS_TABLE}`"),
            e,
        )
    })
}

impl App {
    /// Loads the compartments through the registry, attaches metrics (and the OTLP
    /// observer when given), builds the database pools (creating the orders table
    /// when missing) and starts the health monitor.
    ///
    /// Call it inside a tokio runtime. Metrics go to a Prometheus recorder of the
    /// app's own (no global recorder is installed), so several apps can live in one
    /// process.
    pub async fn build(options: Options) -> Result<App, Error> {
        let recorder = prometheus::builder().build_recorder();
        let handle = recorder.handle();
        let built = metrics::with_local_recorder(&recorder, || build_compartments(&options))?;
        if let Some(db) = &built.database {
            if let Err(e) = prepare_database(db).await {
                built.registry.close();
                db.close();
                return Err(e);
            }
        }
        let health = HealthMonitor::new(&built.metrics, options.health.clone())
            .map_err(|e| Error::with_source("the health monitor's configuration", e))?;
        let task = health.spawn();
        Ok(App {
            inner: Arc::new(Inner {
                mode: options.mode,
                registry: built.registry,
                routes: built.routes,
                compartments: built.compartments,
                downstreams: Downstreams::new(options.latencies),
                metrics: built.metrics,
                prometheus: handle,
                health,
                health_task: Mutex::new(Some(task)),
                database: built.database,
            }),
        })
    }

    /// How the routes share slots.
    pub fn mode(&self) -> Mode {
        self.inner.mode
    }

    /// The compartment `service`'s route takes its slot from.
    pub fn compartment(&self, service: Service) -> &SemaphoreBulkhead {
        &self.inner.routes[service as usize]
    }

    /// Every compartment: the registry's (sorted by name), then the database's.
    pub fn compartments(&self) -> &[Arc<dyn Compartment>] {
        &self.inner.compartments
    }

    /// The registry the compartments were loaded through.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The simulated downstreams, where faults are set.
    pub fn downstreams(&self) -> &Downstreams {
        &self.inner.downstreams
    }

    /// The health monitor behind `/health`.
    pub fn health(&self) -> &HealthMonitor {
        &self.inner.health
    }

    /// The PostgreSQL read/write pair, when a database is configured.
    pub fn database(&self) -> Option<&DatabaseBulkhead> {
        self.inner.database.as_ref()
    }

    /// The Prometheus exposition served at `/metrics`.
    pub fn render_metrics(&self) -> String {
        prometheus::render(&self.inner.metrics, &self.inner.prometheus)
    }

    /// Closes every compartment: new calls are refused, admitted ones finish.
    pub fn close(&self) {
        self.inner.registry.close();
        if let Some(db) = &self.inner.database {
            db.close();
        }
    }

    /// Runs `service`'s downstream call, then `then`, inside the service's
    /// compartment. Returns how long the downstream took and what `then` returned.
    pub(crate) async fn guarded<T, F>(
        &self,
        service: Service,
        then: F,
    ) -> Result<(Duration, T), ApiError>
    where
        F: Future<Output = Result<T, ApiError>>,
    {
        let downstreams = &self.inner.downstreams;
        self.compartment(service)
            .execute_result(async {
                let took = downstreams
                    .call(service)
                    .await
                    .map_err(ApiError::Downstream)?;
                Ok((took, then.await?))
            })
            .await
            .map_err(|e| match e {
                CallError::Rejected(rejected) => ApiError::Rejected(rejected),
                CallError::Backend(error) => error,
            })
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("mode", &self.inner.mode)
            .field("registry", &self.inner.registry)
            .field("database", &self.inner.database.is_some())
            .finish()
    }
}
