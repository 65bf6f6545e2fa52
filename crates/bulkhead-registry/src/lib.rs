//! Named compartments from a layered configuration: built-in defaults, TOML or YAML
//! files, then environment variables, validated as a whole before anything is built.
//!
//! ```yaml
//! defaults:
//!   semaphore:            # inherited by every compartment of kind `semaphore`
//!     max_wait: 10s
//! compartments:
//!   order-api:
//!     kind: semaphore     # the plugin that builds it
//!     max_concurrent: 50
//! ```
//!
//! - **Layers** ([`Sources`]): each kind's built-in defaults, then the files (TOML
//!   for `.toml`, YAML for `.yaml`/`.yml`; from [`Sources::file`], else
//!   `BULKHEAD_CONFIG`, else `bulkhead.toml`/`bulkhead.yaml` in the current
//!   directory), then variables such as `BULKHEAD_COMPARTMENTS__ORDER_API__MAX_WAIT=2s`
//!   (`__` separates levels; in a compartment name `_` also matches `-` and `.`, so
//!   `ORDER_API` is `order-api` when the files have a compartment of that name).
//!   `[defaults.<kind>]` is inherited by every compartment of that kind. Durations
//!   are written `"250ms"`, `"10s"`, `"1m"`.
//! - **Plugins** ([`Plugin`]): a factory registered under a kind name deserializes a
//!   section into its own config struct (unknown keys refused), checks it, and builds
//!   the compartment. [`SemaphorePlugin`] and `RuntimePlugin` are built in (features
//!   `semaphore`, `runtime`), and so are the PostgreSQL read/write kinds `postgres`
//!   and `bb8-postgres` (features `postgres` with `deadpool` or `bb8`); register your
//!   own with [`RegistryBuilder::plugin`].
//! - **All or nothing**: every unknown key, unknown kind, wrong type, refused value
//!   and unreadable or malformed file is reported at once ([`LoadError`]), each
//!   [`Problem`] naming the compartment, the key and where the value came from
//!   ([`Origin`]: file and line, or environment variable). Nothing is built when
//!   anything is wrong.
//! - **Lookup**: [`Registry::get`] with the concrete type, [`Registry::compartments`]
//!   for stats and telemetry.
//! - **Telemetry** ([`Attachment`], [`RegistryBuilder::attach`]): attached things
//!   follow every compartment the registry builds, now and on reload. With the
//!   `metrics` feature a `bulkhead_metrics::BulkheadMetrics` publishes each one (with
//!   its observer and its kind's figures); with `otlp` a `bulkhead_otlp::OtelObserver`
//!   traces its calls and reports it through instruments. Plain observer factories
//!   ([`RegistryBuilder::observer_factory`]) work too.
//! - **Reload** ([`Registry::reload`]): applies what can change live, builds new
//!   compartments, closes removed ones, and reports what needs a restart
//!   ([`ReloadReport`]).
//! - **`bulkhead check <FILE>...`** (package `bulkhead-cli`) validates configurations and
//!   prints every resolved value with where it came from.
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "semaphore")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use bulkhead_registry::{Environment, Registry};
//! use bulkhead_semaphore::SemaphoreBulkhead;
//! # let dir = std::env::temp_dir().join(format!("bulkhead-registry-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # let path = dir.join("bulkhead.toml");
//!
//! std::fs::write(&path, r#"
//!     [defaults.semaphore]
//!     max_wait = "10s"
//!
//!     [compartments.order-api]
//!     kind = "semaphore"
//!     max_concurrent = 50
//! "#)?;
//!
//! let registry = Registry::builder()
//!     .file(&path)
//!     // Production overrides; the process environment when not set.
//!     .environment(Environment::from_vars([
//!         ("BULKHEAD_COMPARTMENTS__ORDER_API__MAX_CONCURRENT", "80"),
//!     ]))
//!     .build()?;
//!
//! let orders = registry.get::<SemaphoreBulkhead>("order-api")?;
//! assert_eq!(orders.execute(async { "placed" }).await?, "placed");
//! assert_eq!(orders.config().max_concurrent, 80);
//! assert_eq!(orders.config().max_wait.as_secs(), 10);
//!
//! for compartment in &registry.compartments() {
//!     println!("{}: {:?}", compartment.name(), compartment.stats());
//! }
//!
//! let missing = registry.get::<SemaphoreBulkhead>("payments").unwrap_err();
//! assert_eq!(missing.to_string(), "no compartment named `payments`; known: `order-api`");
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "semaphore"))]
//! # fn main() {}
//! ```
//!
//! A mistake is reported with its place, and nothing is built:
//!
//! ```
//! # #[cfg(feature = "semaphore")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use bulkhead_registry::{Environment, Registry};
//! # let dir = std::env::temp_dir().join(format!("bulkhead-registry-doc-err-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # let path = dir.join("bulkhead.yaml");
//!
//! std::fs::write(&path, "\
//! compartments:
//!   order-api:
//!     kind: semaphore
//!     max_concurrent: 0
//!     max_wiat: 10s
//! ")?;
//!
//! let error = Registry::builder()
//!     .file(&path)
//!     .environment(Environment::empty())
//!     .build()
//!     .unwrap_err();
//! let problems: Vec<String> = error.problems().iter().map(|p| p.to_string()).collect();
//! let file = path.display();
//! assert_eq!(problems, [
//!     format!("{file}:5: compartment `order-api`: `max_wiat` is not a setting of kind `semaphore`; \
//!              expected one of `max_concurrent`, `max_wait`, `max_waiting`, `retry_after`"),
//!     format!("{file}:4: compartment `order-api`: `max_concurrent` must be at least 1 (got 0)"),
//! ]);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "semaphore"))]
//! # fn main() {}
//! ```
//!
//! # Feature flags
//!
//! - `semaphore` (default): the built-in `semaphore` kind ([`SemaphorePlugin`],
//!   building `bulkhead_semaphore::SemaphoreBulkhead`).
//! - `runtime` (default): the built-in `runtime` kind ([`RuntimePlugin`], building
//!   `bulkhead_runtime::RuntimeBulkhead`, a dedicated tokio runtime).
//! - `watch`: [`Registry::watch`] reloads the registry when its files change (with
//!   `notify`).
//! - `postgres`: the PostgreSQL read/write kinds of the enabled pool features, whose
//!   keys are those of `bulkhead_pool::postgres::PostgresConfig`: with `deadpool`, the
//!   `postgres` kind (`PostgresPlugin`, building
//!   `bulkhead_deadpool::postgres::DatabaseBulkhead`, pool sizes live on reload); with
//!   `bb8`, the `bb8-postgres` kind (`Bb8PostgresPlugin`, building
//!   `bulkhead_bb8::postgres::DatabaseBulkhead`, inside a tokio runtime).
//! - `deadpool`, `bb8`: the pool crates behind the PostgreSQL kinds; nothing on their
//!   own.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod attach;
mod error;
mod locate;
mod plugin;
#[cfg(all(feature = "postgres", any(feature = "deadpool", feature = "bb8")))]
mod postgres;
mod registry;
mod reload;
mod resolve;
#[cfg(feature = "runtime")]
mod runtime;
#[cfg(feature = "semaphore")]
mod semaphore;
mod sources;
#[cfg(feature = "watch")]
mod watch;

pub use attach::Attachment;
pub use bulkhead_core::{Compartment, CompartmentInfo, ConfigError, Observer, SharedObserver};
pub use error::{BoxError, LoadError, LookupError, Origin, Problem, ProblemKind};
pub use plugin::{BuildContext, Plugin};
#[cfg(all(feature = "postgres", feature = "bb8"))]
pub use postgres::Bb8PostgresPlugin;
#[cfg(all(feature = "postgres", feature = "deadpool"))]
pub use postgres::PostgresPlugin;
pub use registry::{Compartments, CompartmentsIter, Registry, RegistryBuilder};
pub use reload::{Change, ReloadFailure, ReloadReport};
pub use resolve::{Resolved, ResolvedCompartment, Setting, MAX_NAME_LEN};
#[cfg(feature = "runtime")]
pub use runtime::RuntimePlugin;
#[cfg(feature = "semaphore")]
pub use semaphore::SemaphorePlugin;
pub use sources::{
    env_var_for, Environment, Sources, CONFIG_ENV, DEFAULT_FILES, ENV_PREFIX, ENV_SEPARATOR,
};
#[cfg(feature = "watch")]
pub use watch::{Watch, WatchError, DEBOUNCE};
