//! The registry: compartments built from the configuration, by name.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use bulkhead_core::{Compartment, CompartmentInfo, SharedObserver};
use figment::value::{Dict, Value};

use crate::attach::Attachment;
use crate::error::{LoadError, LookupError, Problem, ProblemKind};
use crate::plugin::{AnyConfig, BuildContext, Built, Erased, ErasedPlugin, ObserverSource};
use crate::reload::{Change, ReloadFailure, ReloadReport};
use crate::resolve::{diff, flatten, render, resolve, Plugins, Resolved, ResolvedCompartment};
use crate::{Environment, Plugin, Sources};

type ObserverFactory = Arc<dyn Fn(&CompartmentInfo) -> SharedObserver + Send + Sync>;

/// Configures and builds a [`Registry`].
///
/// Starts with the built-in kinds of the enabled features (`semaphore` by default),
/// no observer factory, and [`Sources::new`] (file from `BULKHEAD_CONFIG` or
/// `bulkhead.toml`/`bulkhead.yaml` in the current directory, then the process
/// environment).
#[must_use]
pub struct RegistryBuilder {
    sources: Sources,
    plugins: Plugins,
    observers: Vec<ObserverFactory>,
    attachments: Vec<Arc<dyn Attachment>>,
}

impl Default for RegistryBuilder {
    fn default() -> Self {
        let builder = RegistryBuilder {
            sources: Sources::new(),
            plugins: Plugins::new(),
            observers: Vec::new(),
            attachments: Vec::new(),
        };
        #[cfg(feature = "semaphore")]
        let builder = builder.plugin(crate::SemaphorePlugin);
        #[cfg(feature = "runtime")]
        let builder = builder.plugin(crate::RuntimePlugin);
        #[cfg(all(feature = "postgres", feature = "deadpool"))]
        let builder = builder.plugin(crate::PostgresPlugin);
        #[cfg(all(feature = "postgres", feature = "bb8"))]
        let builder = builder.plugin(crate::Bb8PostgresPlugin);
        builder
    }
}

impl RegistryBuilder {
    /// Replaces the sources.
    pub fn sources(mut self, sources: Sources) -> Self {
        self.sources = sources;
        self
    }

    /// Adds a configuration file (see [`Sources::file`]).
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        self.sources = self.sources.file(path);
        self
    }

    /// Sets the environment variables layered on top (see [`Sources::environment`]).
    pub fn environment(mut self, env: Environment) -> Self {
        self.sources = self.sources.environment(env);
        self
    }

    /// Registers a plugin under its kind, replacing any plugin of the same kind.
    pub fn plugin<P: Plugin>(mut self, plugin: P) -> Self {
        self.plugins.insert(plugin.kind(), Arc::new(Erased(plugin)));
        self
    }

    /// Adds an observer factory: every compartment the registry builds (now or on a
    /// reload) gets the observer it returns. With several factories, a compartment
    /// gets all their observers.
    ///
    /// Telemetry crates plug in here, for example with a factory that returns a
    /// metrics observer registered under the compartment's name.
    pub fn observer_factory<F>(mut self, factory: F) -> Self
    where
        F: Fn(&CompartmentInfo) -> SharedObserver + Send + Sync + 'static,
    {
        self.observers.push(Arc::new(factory));
        self
    }

    /// Attaches something that follows every compartment the registry builds, now
    /// and on each reload (see [`Attachment`]): with the `metrics` feature a
    /// `bulkhead_metrics::BulkheadMetrics`, with `otlp` a `bulkhead_otlp::OtelObserver`.
    pub fn attach<A: Attachment>(mut self, attachment: A) -> Self {
        self.attachments.push(Arc::new(attachment));
        self
    }

    /// The registered kinds, sorted.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.plugins.keys().copied().collect()
    }

    /// Reads and validates the configuration without building anything.
    pub fn validate(&self) -> Result<Resolved, LoadError> {
        resolve(&self.sources, &self.plugins)
    }

    /// Reads and validates the configuration, then builds every compartment.
    ///
    /// All or nothing: when any problem is found, or any compartment fails to build,
    /// the compartments already built are closed and the error lists every problem.
    pub fn build(self) -> Result<Registry, LoadError> {
        let resolved = resolve(&self.sources, &self.plugins)?;
        let inner = Inner {
            sources: self.sources,
            plugins: self.plugins,
            observers: self.observers,
            attachments: self.attachments,
            entries: RwLock::new(BTreeMap::new()),
            reload: Mutex::new(()),
        };
        let compartments = resolved.into_compartments();
        let entries = inner.build_all(compartments.iter())?;
        let announced: Vec<Entry> = entries.values().cloned().collect();
        *inner
            .entries
            .write()
            .unwrap_or_else(PoisonError::into_inner) = entries;
        inner.announce_added(announced.iter());
        Ok(Registry {
            inner: Arc::new(inner),
        })
    }
}

impl fmt::Debug for RegistryBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryBuilder")
            .field("sources", &self.sources)
            .field("kinds", &self.kinds())
            .field("observers", &self.observers.len())
            .finish()
    }
}

/// Named compartments built from a layered configuration.
///
/// Cheap to clone: clones share the compartments. Look a compartment up with its
/// concrete type ([`get`](Registry::get)), or go through all of them as
/// [`Compartment`]s for stats and telemetry ([`compartments`](Registry::compartments)).
/// [`reload`](Registry::reload) re-reads the sources and applies the changes.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

struct Inner {
    sources: Sources,
    plugins: Plugins,
    observers: Vec<ObserverFactory>,
    attachments: Vec<Arc<dyn Attachment>>,
    entries: RwLock<BTreeMap<String, Entry>>,
    /// Serializes reloads.
    reload: Mutex<()>,
}

#[derive(Clone)]
struct Entry {
    kind: &'static str,
    plugin: Arc<dyn ErasedPlugin>,
    config: AnyConfig,
    values: Dict,
    built: Built,
}

impl Inner {
    /// Makes each compartment's observer from the factories and attachments.
    fn observer_source(&self) -> ObserverSource {
        let factories = self.observers.clone();
        let attachments = self.attachments.clone();
        Arc::new(move |info: &CompartmentInfo| {
            let mut all: Vec<SharedObserver> = factories.iter().map(|f| f(info)).collect();
            all.extend(attachments.iter().filter_map(|a| a.observer(info)));
            match all.len() {
                0 => None,
                1 => all.pop(),
                _ => Some(Arc::new(all)),
            }
        })
    }

    /// Tells every attachment about compartments just built.
    fn announce_added<'a>(&self, entries: impl Iterator<Item = &'a Entry>) {
        for entry in entries {
            for part in &entry.built.parts {
                for attachment in &self.attachments {
                    attachment.added(Arc::clone(part));
                }
            }
        }
    }

    /// Builds every compartment, or none: on a failure, closes those already built.
    fn build_all<'a>(
        &self,
        compartments: impl Iterator<Item = &'a ResolvedCompartment>,
    ) -> Result<BTreeMap<String, Entry>, LoadError> {
        let mut built = BTreeMap::new();
        let mut problems = Vec::new();
        let observers = self.observer_source();
        for compartment in compartments {
            let info = CompartmentInfo::new(compartment.name(), compartment.kind());
            let cx = BuildContext::new(info, Arc::clone(&observers));
            match compartment.plugin.build(&cx, &compartment.config) {
                Ok(compartment_built) => {
                    built.insert(
                        compartment.name().to_owned(),
                        Entry {
                            kind: compartment.kind(),
                            plugin: Arc::clone(&compartment.plugin),
                            config: Arc::clone(&compartment.config),
                            values: compartment.values.clone(),
                            built: compartment_built,
                        },
                    );
                }
                Err(e) => problems.push(
                    Problem::new(ProblemKind::Build, format!("could not be built: {e}"))
                        .in_compartment(compartment.name()),
                ),
            }
        }
        if problems.is_empty() {
            Ok(built)
        } else {
            for entry in built.values() {
                entry.plugin.close(&entry.built);
            }
            Err(LoadError::new(problems))
        }
    }

    fn entries(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Entry>> {
        self.entries.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn not_found(&self, name: &str) -> LookupError {
        LookupError::NotFound {
            name: name.to_owned(),
            known: self.entries().keys().cloned().collect(),
        }
    }
}

impl Registry {
    /// Starts configuring a registry.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder::default()
    }

    /// The compartment called `name`, as its concrete type (the plugin's
    /// `Compartment`, such as `SemaphoreBulkhead`).
    ///
    /// Fails with [`LookupError::NotFound`] (listing the known names) or
    /// [`LookupError::WrongType`].
    pub fn get<T: Any + Send + Sync>(&self, name: &str) -> Result<Arc<T>, LookupError> {
        let entries = self.inner.entries();
        let Some(entry) = entries.get(name) else {
            drop(entries);
            return Err(self.inner.not_found(name));
        };
        Arc::clone(&entry.built.any)
            .downcast::<T>()
            .map_err(|_| LookupError::WrongType {
                name: name.to_owned(),
                kind: entry.kind,
                actual: entry.plugin.type_name(),
                expected: std::any::type_name::<T>(),
            })
    }

    /// The compartment called `name`, whatever its kind.
    pub fn compartment(&self, name: &str) -> Result<Arc<dyn Compartment>, LookupError> {
        let found = self
            .inner
            .entries()
            .get(name)
            .map(|entry| Arc::clone(&entry.built.view));
        found.ok_or_else(|| self.inner.not_found(name))
    }

    /// Every compartment, sorted by name: a snapshot that later reloads do not change.
    pub fn compartments(&self) -> Compartments {
        Compartments {
            items: self
                .inner
                .entries()
                .values()
                .map(|entry| Arc::clone(&entry.built.view))
                .collect(),
        }
    }

    /// The names of the compartments, sorted.
    pub fn names(&self) -> Vec<String> {
        self.inner.entries().keys().cloned().collect()
    }

    /// Whether a compartment is called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.inner.entries().contains_key(name)
    }

    /// How many compartments there are.
    pub fn len(&self) -> usize {
        self.inner.entries().len()
    }

    /// Whether there are no compartments.
    pub fn is_empty(&self) -> bool {
        self.inner.entries().is_empty()
    }

    /// The registered kinds, sorted.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.inner.plugins.keys().copied().collect()
    }

    /// The sources the registry reads on [`reload`](Registry::reload).
    pub fn sources(&self) -> &Sources {
        &self.inner.sources
    }

    /// The resolved values of the compartment called `name`, as its plugin reports
    /// them: `(key, value)` in TOML form, sorted by key.
    pub fn settings(&self, name: &str) -> Result<Vec<(String, String)>, LookupError> {
        let settings = self.inner.entries().get(name).map(|entry| {
            entry
                .values
                .iter()
                .map(|(k, v)| (k.clone(), entry.plugin.show(k, render(v))))
                .collect()
        });
        settings.ok_or_else(|| self.inner.not_found(name))
    }

    /// Closes every compartment (through its plugin): new work is refused, admitted
    /// work finishes. The compartments stay registered.
    pub fn close(&self) {
        for entry in self.inner.entries().values() {
            entry.plugin.close(&entry.built);
        }
    }

    /// Re-reads the sources and applies the differences.
    ///
    /// The new configuration is validated as a whole first: when anything is wrong,
    /// nothing changes and the error lists every problem. Then:
    ///
    /// 1. compartments that are new are built (all or none);
    /// 2. compartments whose settings changed are handed to their plugin's
    ///    [`reconfigure`](Plugin::reconfigure), which applies what can change live;
    ///    what it could not apply, and any change of `kind`, is reported in
    ///    [`ReloadReport::restart_required`] and the compartment keeps running as it
    ///    was;
    /// 3. compartments that are gone are removed from the registry, then closed
    ///    (handles already taken see them refuse new work; admitted work finishes).
    ///
    /// Reloads are serialized; lookups go on while one runs.
    pub fn reload(&self) -> Result<ReloadReport, LoadError> {
        let inner = &*self.inner;
        let _serial = inner.reload.lock().unwrap_or_else(PoisonError::into_inner);
        let wanted = resolve(&inner.sources, &inner.plugins)?.into_compartments();
        let current = inner.entries().clone();
        let mut report = ReloadReport::default();

        let added = inner.build_all(wanted.iter().filter(|c| !current.contains_key(c.name())))?;
        let announced: Vec<Entry> = added.values().cloned().collect();
        let mut next = current.clone();
        for (name, entry) in added {
            report.added.push(name.clone());
            next.insert(name, entry);
        }

        for compartment in &wanted {
            let name = compartment.name();
            let Some(entry) = current.get(name) else {
                continue;
            };
            if entry.kind != compartment.kind() {
                report.restart_required.push(Change::new(
                    name,
                    "kind",
                    render(&Value::from(entry.kind)),
                    render(&Value::from(compartment.kind())),
                ));
                continue;
            }
            if diff(&entry.values, &compartment.values).is_empty() {
                continue;
            }
            let now = entry
                .plugin
                .reconfigure(&entry.built, &entry.config, &compartment.config)
                .and_then(|now| {
                    let values = entry.plugin.serialize(&now)?;
                    Ok((now, values))
                });
            match now {
                Ok((now, Value::Dict(_, values))) => {
                    let values = flatten(values);
                    let change = |(key, from, to): (String, String, String)| {
                        let (from, to) =
                            (entry.plugin.show(&key, from), entry.plugin.show(&key, to));
                        Change::new(name, key, from, to)
                    };
                    report
                        .applied
                        .extend(diff(&entry.values, &values).into_iter().map(change));
                    report
                        .restart_required
                        .extend(diff(&values, &compartment.values).into_iter().map(change));
                    if let Some(next) = next.get_mut(name) {
                        next.config = now;
                        next.values = values;
                    }
                }
                Ok((_, other)) => report.failed.push(ReloadFailure::new(
                    name,
                    format!("the plugin reported a configuration that is not a table: {other:?}"),
                )),
                Err(e) => report.failed.push(ReloadFailure::new(name, e.to_string())),
            }
        }

        let mut removed = Vec::new();
        for (name, entry) in &current {
            if !wanted.iter().any(|c| c.name() == name) {
                next.remove(name);
                removed.push(entry);
                report.removed.push(name.clone());
            }
        }
        *inner
            .entries
            .write()
            .unwrap_or_else(PoisonError::into_inner) = next;
        inner.announce_added(announced.iter());
        for entry in removed {
            entry.plugin.close(&entry.built);
            for part in &entry.built.parts {
                for attachment in &inner.attachments {
                    attachment.removed(part.name());
                }
            }
        }
        Ok(report)
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self.inner.entries();
        let mut map = f.debug_map();
        for (name, entry) in entries.iter() {
            map.entry(name, &entry.kind);
        }
        map.finish()
    }
}

/// A snapshot of a registry's compartments, sorted by name.
///
/// ```
/// # fn show(registry: &bulkhead_registry::Registry) {
/// for compartment in &registry.compartments() {
///     let stats = compartment.stats();
///     println!("{} ({}): {} of {} in use", compartment.name(), compartment.kind(), stats.in_use, stats.capacity);
/// }
/// # }
/// ```
#[derive(Clone)]
pub struct Compartments {
    items: Vec<Arc<dyn Compartment>>,
}

impl Compartments {
    /// The compartments, sorted by name.
    pub fn iter(&self) -> CompartmentsIter<'_> {
        CompartmentsIter(self.items.iter())
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The compartment called `name`.
    pub fn get(&self, name: &str) -> Option<&dyn Compartment> {
        self.iter().find(|c| c.name() == name)
    }
}

impl fmt::Debug for Compartments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.items.iter().map(|c| c.info()))
            .finish()
    }
}

impl<'a> IntoIterator for &'a Compartments {
    type Item = &'a dyn Compartment;
    type IntoIter = CompartmentsIter<'a>;

    fn into_iter(self) -> CompartmentsIter<'a> {
        self.iter()
    }
}

impl IntoIterator for Compartments {
    type Item = Arc<dyn Compartment>;
    type IntoIter = std::vec::IntoIter<Arc<dyn Compartment>>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// Iterates a [`Compartments`] snapshot as `&dyn Compartment`.
pub struct CompartmentsIter<'a>(std::slice::Iter<'a, Arc<dyn Compartment>>);

impl fmt::Debug for CompartmentsIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompartmentsIter")
            .field("remaining", &self.0.len())
            .finish()
    }
}

impl<'a> Iterator for CompartmentsIter<'a> {
    type Item = &'a dyn Compartment;

    fn next(&mut self) -> Option<&'a dyn Compartment> {
        self.0.next().map(|c| &**c)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for CompartmentsIter<'_> {}
