//! Plugins: one factory per compartment kind.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use bulkhead_core::{Compartment, CompartmentInfo, ConfigError, SharedObserver};
use figment::value::Value;
use figment::Figment;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::BoxError;

/// Builds the compartments of one kind from their configuration sections.
///
/// A plugin is registered under its [`kind`](Plugin::kind); every
/// `[compartments.<name>]` section with `kind = "<kind>"` (and the
/// `[defaults.<kind>]` section it inherits from) is deserialized into
/// [`Config`](Plugin::Config), checked with [`problems`](Plugin::problems), and, when
/// the whole configuration is valid, handed to [`build`](Plugin::build).
///
/// The config should refuse unknown keys (`#[serde(deny_unknown_fields)]`) and fill
/// missing ones from its `Default` (`#[serde(default)]`); its `Default` is what a
/// compartment gets for every key that neither its section nor `[defaults.<kind>]`
/// sets.
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use bulkhead_core::{Compartment, CompartmentInfo, ConfigError, Stats};
/// use bulkhead_registry::{BoxError, BuildContext, Plugin};
///
/// /// A compartment that is either open or closed, configured by `open`.
/// struct Switch {
///     info: CompartmentInfo,
///     open: Arc<AtomicBool>,
/// }
///
/// impl Compartment for Switch {
///     fn info(&self) -> &CompartmentInfo {
///         &self.info
///     }
///     fn stats(&self) -> Stats {
///         Stats::default()
///     }
///     fn close(&self) {
///         self.open.store(false, Ordering::Relaxed)
///     }
///     fn is_closed(&self) -> bool {
///         !self.open.load(Ordering::Relaxed)
///     }
/// }
///
/// #[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
/// #[serde(deny_unknown_fields, default)]
/// struct SwitchConfig {
///     open: bool,
/// }
///
/// struct SwitchPlugin;
///
/// impl Plugin for SwitchPlugin {
///     type Config = SwitchConfig;
///     type Compartment = Switch;
///
///     fn kind(&self) -> &'static str {
///         "switch"
///     }
///
///     fn problems(&self, _config: &SwitchConfig) -> Vec<ConfigError> {
///         Vec::new()
///     }
///
///     fn build(&self, cx: &BuildContext, config: &SwitchConfig) -> Result<Switch, BoxError> {
///         Ok(Switch {
///             info: cx.info().clone(),
///             open: Arc::new(AtomicBool::new(config.open)),
///         })
///     }
///
///     // `open` can change while running.
///     fn reconfigure(
///         &self,
///         switch: &Switch,
///         _running: &SwitchConfig,
///         wanted: &SwitchConfig,
///     ) -> Result<SwitchConfig, BoxError> {
///         switch.open.store(wanted.open, Ordering::Relaxed);
///         Ok(wanted.clone())
///     }
/// }
/// ```
pub trait Plugin: Send + Sync + 'static {
    /// The configuration of one compartment of this kind.
    type Config: Serialize + DeserializeOwned + Default + Clone + Send + Sync + 'static;

    /// The compartment this plugin builds, as [`Registry::get`](crate::Registry::get)
    /// returns it.
    type Compartment: Compartment + 'static;

    /// The kind name, as written in `kind = "..."` and `[defaults.<kind>]`: lowercase
    /// ASCII letters, digits, `-` and `_`.
    fn kind(&self) -> &'static str;

    /// Every problem with `config` (empty when it is valid): zero, negative or absurd
    /// limits and the like. Each [`ConfigError`] names its key.
    fn problems(&self, config: &Self::Config) -> Vec<ConfigError>;

    /// Builds a compartment from a valid configuration.
    ///
    /// Attach [`BuildContext::observer`] when there is one, and name the compartment
    /// after [`BuildContext::name`].
    fn build(
        &self,
        cx: &BuildContext,
        config: &Self::Config,
    ) -> Result<Self::Compartment, BoxError>;

    /// Applies `wanted` to a running compartment whose configuration is `running`, and
    /// returns the configuration now in force.
    ///
    /// Apply what can change live, keep the rest: every key whose value in the returned
    /// configuration differs from `wanted` is reported as needing a restart. The
    /// default applies nothing and returns `running`.
    fn reconfigure(
        &self,
        compartment: &Self::Compartment,
        running: &Self::Config,
        wanted: &Self::Config,
    ) -> Result<Self::Config, BoxError> {
        let _ = (compartment, wanted);
        Ok(running.clone())
    }

    /// How the resolved value of `key` is shown by `bulkhead check`,
    /// [`Registry::settings`](crate::Registry::settings) and reload reports: `value` is
    /// in TOML form (`"text"`, `10`, `none`), `key` is dotted for nested tables
    /// (`read.max_size`). Override it to hide secrets; changes are still detected on the
    /// values themselves. The default shows `value` as it is.
    fn show(&self, key: &str, value: String) -> String {
        let _ = key;
        value
    }

    /// Stops a compartment that left the configuration: it should refuse new work and
    /// let admitted work finish. The default calls [`Compartment::close`].
    fn close(&self, compartment: &Self::Compartment) {
        compartment.close();
    }

    /// What telemetry follows for this compartment (see
    /// [`Attachment`](crate::Attachment)): `None`, the default, for the compartment
    /// itself; or the parts that admit and report events under names of their own,
    /// such as the read and write pools of a PostgreSQL pair (built with observers
    /// from [`BuildContext::observer_for`]).
    fn parts(&self, compartment: &Self::Compartment) -> Option<Vec<Arc<dyn Compartment>>> {
        let _ = compartment;
        None
    }
}

/// Makes the observer of a compartment from the registry's observer factories and
/// attachments, or `None` when there are none.
pub(crate) type ObserverSource =
    Arc<dyn Fn(&CompartmentInfo) -> Option<SharedObserver> + Send + Sync>;

/// What a plugin gets to build a compartment with.
#[derive(Clone)]
pub struct BuildContext {
    info: CompartmentInfo,
    observers: ObserverSource,
}

impl BuildContext {
    pub(crate) fn new(info: CompartmentInfo, observers: ObserverSource) -> Self {
        BuildContext { info, observers }
    }

    /// The compartment's name and kind.
    pub fn info(&self) -> &CompartmentInfo {
        &self.info
    }

    /// The compartment's name, shared.
    pub fn name(&self) -> Arc<str> {
        self.info.name_arc()
    }

    /// The observer for this compartment, made by the registry's observer factories
    /// and attachments (`None` when there are none). Made on each call: ask once.
    pub fn observer(&self) -> Option<SharedObserver> {
        (self.observers)(&self.info)
    }

    /// The observer for a part of this compartment that reports its events under a
    /// name and kind of its own (`info`), such as each pool of a PostgreSQL read/write
    /// pair. Such a plugin also lists the parts in [`Plugin::parts`], so telemetry
    /// follows them.
    pub fn observer_for(&self, info: &CompartmentInfo) -> Option<SharedObserver> {
        (self.observers)(info)
    }
}

impl fmt::Debug for BuildContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuildContext")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// A configuration of some plugin's kind.
pub(crate) type AnyConfig = Arc<dyn Any + Send + Sync>;

/// A built compartment: the concrete value for typed lookups and the shared view.
#[derive(Clone)]
pub(crate) struct Built {
    pub(crate) any: Arc<dyn Any + Send + Sync>,
    pub(crate) view: Arc<dyn Compartment>,
    /// What telemetry follows: the view, or the plugin's parts.
    pub(crate) parts: Vec<Arc<dyn Compartment>>,
}

/// A [`Plugin`] with its types erased, as the registry stores it.
///
/// figment's errors are large, but they only travel on the path of a refused
/// configuration, where every one of them is reported.
#[allow(clippy::result_large_err)]
pub(crate) trait ErasedPlugin: Send + Sync {
    fn kind(&self) -> &'static str;
    fn type_name(&self) -> &'static str;
    fn default_value(&self) -> Result<Value, figment::Error>;
    fn deserialize(&self, figment: &Figment) -> Result<AnyConfig, figment::Error>;
    fn problems(&self, config: &AnyConfig) -> Vec<ConfigError>;
    fn serialize(&self, config: &AnyConfig) -> Result<Value, figment::Error>;
    fn build(&self, cx: &BuildContext, config: &AnyConfig) -> Result<Built, BoxError>;
    fn reconfigure(
        &self,
        built: &Built,
        running: &AnyConfig,
        wanted: &AnyConfig,
    ) -> Result<AnyConfig, BoxError>;
    fn close(&self, built: &Built);
    fn show(&self, key: &str, value: String) -> String;
}

pub(crate) struct Erased<P>(pub(crate) P);

impl<P: Plugin> Erased<P> {
    fn config<'a>(&self, config: &'a AnyConfig) -> &'a P::Config {
        config
            .downcast_ref::<P::Config>()
            .expect("a configuration is only handed to the plugin that produced it")
    }

    fn compartment<'a>(&self, built: &'a Built) -> &'a P::Compartment {
        built
            .any
            .downcast_ref::<P::Compartment>()
            .expect("a compartment is only handed to the plugin that built it")
    }
}

#[allow(clippy::result_large_err)]
impl<P: Plugin> ErasedPlugin for Erased<P> {
    fn kind(&self) -> &'static str {
        self.0.kind()
    }

    fn type_name(&self) -> &'static str {
        std::any::type_name::<P::Compartment>()
    }

    fn default_value(&self) -> Result<Value, figment::Error> {
        Value::serialize(P::Config::default())
    }

    fn deserialize(&self, figment: &Figment) -> Result<AnyConfig, figment::Error> {
        let config: P::Config = figment.extract()?;
        Ok(Arc::new(config))
    }

    fn problems(&self, config: &AnyConfig) -> Vec<ConfigError> {
        self.0.problems(self.config(config))
    }

    fn serialize(&self, config: &AnyConfig) -> Result<Value, figment::Error> {
        Value::serialize(self.config(config))
    }

    fn build(&self, cx: &BuildContext, config: &AnyConfig) -> Result<Built, BoxError> {
        let compartment = Arc::new(self.0.build(cx, self.config(config))?);
        let view: Arc<dyn Compartment> = compartment.clone();
        let parts = self
            .0
            .parts(&compartment)
            .unwrap_or_else(|| vec![Arc::clone(&view)]);
        Ok(Built {
            any: compartment,
            view,
            parts,
        })
    }

    fn reconfigure(
        &self,
        built: &Built,
        running: &AnyConfig,
        wanted: &AnyConfig,
    ) -> Result<AnyConfig, BoxError> {
        let now = self.0.reconfigure(
            self.compartment(built),
            self.config(running),
            self.config(wanted),
        )?;
        Ok(Arc::new(now))
    }

    fn close(&self, built: &Built) {
        self.0.close(self.compartment(built))
    }

    fn show(&self, key: &str, value: String) -> String {
        self.0.show(key, value)
    }
}
