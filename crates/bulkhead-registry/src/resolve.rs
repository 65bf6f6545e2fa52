//! Layering the sources and validating the whole configuration.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use figment::error::{Actual, Kind};
use figment::value::{Dict, Num, Tag, Value};
use figment::{Figment, Metadata, Profile, Provider, Source};

use crate::error::{list, LoadError, Origin, Problem, ProblemKind};
use crate::locate::line_of;
use crate::plugin::{AnyConfig, ErasedPlugin};
use crate::sources::{
    self, defaults_layer, env_layer, env_var_for, file_layer, section_names, EnvNames, FileText,
    Layer, Sources, DEFAULTS_LAYER, ENV_LAYER,
};

/// The longest compartment name accepted.
pub const MAX_NAME_LEN: usize = 128;

/// The registered plugins, by kind.
pub(crate) type Plugins = BTreeMap<&'static str, Arc<dyn ErasedPlugin>>;

/// A valid configuration: every compartment with its resolved settings and where each
/// came from. Nothing is built yet.
///
/// Returned by [`RegistryBuilder::validate`](crate::RegistryBuilder::validate); what
/// `bulkhead check` prints.
#[derive(Clone)]
pub struct Resolved {
    files: Vec<PathBuf>,
    compartments: Vec<ResolvedCompartment>,
}

impl Resolved {
    /// The files that were read, lowest layer first.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Every compartment, sorted by name.
    pub fn compartments(&self) -> &[ResolvedCompartment] {
        &self.compartments
    }

    /// The compartment called `name`.
    pub fn get(&self, name: &str) -> Option<&ResolvedCompartment> {
        self.compartments.iter().find(|c| c.name == name)
    }

    pub(crate) fn into_compartments(self) -> Vec<ResolvedCompartment> {
        self.compartments
    }
}

impl fmt::Debug for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolved")
            .field("files", &self.files)
            .field("compartments", &self.compartments)
            .finish()
    }
}

/// One compartment of a valid configuration.
#[derive(Clone)]
pub struct ResolvedCompartment {
    name: String,
    kind: &'static str,
    kind_origin: Option<Origin>,
    settings: Vec<Setting>,
    pub(crate) plugin: Arc<dyn ErasedPlugin>,
    pub(crate) config: AnyConfig,
    pub(crate) values: Dict,
}

impl ResolvedCompartment {
    /// The compartment's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The compartment's kind.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Where `kind` was set.
    pub fn kind_origin(&self) -> Option<&Origin> {
        self.kind_origin.as_ref()
    }

    /// Every key of the kind's configuration with its resolved value, sorted by key.
    pub fn settings(&self) -> &[Setting] {
        &self.settings
    }

    /// The setting called `key`.
    pub fn setting(&self, key: &str) -> Option<&Setting> {
        self.settings.iter().find(|s| s.key == key)
    }

    /// The deserialized configuration, when it is a `C` (the kind's plugin's
    /// `Config`).
    pub fn config<C: Any>(&self) -> Option<&C> {
        self.config.downcast_ref::<C>()
    }
}

impl fmt::Debug for ResolvedCompartment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolvedCompartment")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("settings", &self.settings)
            .finish()
    }
}

/// One resolved key of a compartment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    key: String,
    value: String,
    origin: Origin,
    inherited: bool,
}

impl Setting {
    /// The key, such as `max_wait`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The resolved value as it would be written in TOML: `50`, `"10s"`, `none` for
    /// an unset optional value.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Where the value came from.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Whether the value was inherited from `[defaults.<kind>]` (set in a file or the
    /// environment, not the kind's built-in default).
    pub fn inherited(&self) -> bool {
        self.inherited
    }
}

/// The name of the figment layer that holds one section while it is deserialized.
const SECTION_LAYER: &str = "section";
/// A key no configuration has: focusing on it keeps a figment's metadata, not its data.
const NO_KEY: &str = "\u{1}";

/// Reads the sources, layers them and validates everything.
pub(crate) fn resolve(sources: &Sources, plugins: &Plugins) -> Result<Resolved, LoadError> {
    let layers = sources::read(sources).map_err(LoadError::new)?;
    let mut problems = Vec::new();

    let mut defaults = Dict::new();
    for (kind, plugin) in plugins {
        match plugin.default_value() {
            Ok(value) => {
                defaults.insert((*kind).to_owned(), value);
            }
            Err(e) => problems.push(
                Problem::new(
                    ProblemKind::InvalidValue,
                    format!("the built-in defaults of kind `{kind}` cannot be serialized: {e}"),
                )
                .in_defaults(kind),
            ),
        }
    }
    let mut base = Figment::new().merge(defaults_layer(defaults));
    for (path, format, dict) in &layers.file_dicts {
        base = base.merge(file_layer(path, *format, dict.clone()));
    }
    let lower = root_dict(&base);
    let names = section_names(&lower, "compartments");
    let kinds = section_names(&lower, "defaults");
    let (env, env_names, env_problems) = env_layer(&layers.vars, &names, &kinds);
    problems.extend(env_problems);
    let figment = base.merge(env);
    let root = root_dict(&figment);

    let mut checker = Checker {
        carrier: figment.focus(NO_KEY),
        figment: &figment,
        texts: &layers.texts,
        env_names: &env_names,
        plugins,
        problems,
    };
    let compartments = checker.check(&root);
    if checker.problems.is_empty() {
        Ok(Resolved {
            files: layers.files,
            compartments,
        })
    } else {
        Err(LoadError::new(checker.problems))
    }
}

fn root_dict(figment: &Figment) -> Dict {
    figment
        .data()
        .ok()
        .and_then(|mut map| map.remove(&Profile::Default))
        .unwrap_or_default()
}

/// Where a section sits in the configuration.
#[derive(Clone, Copy)]
enum At<'a> {
    Defaults {
        kind: &'a str,
    },
    Compartment {
        name: &'a str,
        kind: &'a str,
        own: &'a Dict,
    },
}

impl At<'_> {
    /// The full path of a key of the section: keys a compartment does not set itself
    /// come from `defaults.<kind>`.
    fn path(&self, key: &[String]) -> Vec<String> {
        let (section, name) = match self {
            At::Compartment { name, own, .. }
                if key.first().is_none_or(|k| own.contains_key(k)) =>
            {
                ("compartments", *name)
            }
            At::Compartment { kind, .. } | At::Defaults { kind } => ("defaults", *kind),
        };
        [section.to_owned(), name.to_owned()]
            .into_iter()
            .chain(key.iter().cloned())
            .collect()
    }

    fn problem(&self, problem: Problem) -> Problem {
        match self {
            At::Defaults { kind } => problem.in_defaults(kind),
            At::Compartment { name, .. } => problem.in_compartment(name),
        }
    }

    fn kind(&self) -> &str {
        match self {
            At::Defaults { kind } | At::Compartment { kind, .. } => kind,
        }
    }
}

struct Checker<'a> {
    figment: &'a Figment,
    /// The figment's metadata without its data, to deserialize one section at a time.
    carrier: Figment,
    texts: &'a HashMap<PathBuf, FileText>,
    env_names: &'a EnvNames,
    plugins: &'a Plugins,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn known_kinds(&self) -> String {
        let kinds: Vec<&str> = self.plugins.keys().copied().collect();
        list(&kinds)
    }

    fn origin(&self, tag: Tag, path: &[String]) -> Option<Origin> {
        self.origin_of(self.figment.get_metadata(tag)?, path)
    }

    fn origin_of(&self, metadata: &Metadata, path: &[String]) -> Option<Origin> {
        if let Some(Source::File(file)) = &metadata.source {
            let line = self
                .texts
                .get(file)
                .and_then(|t| line_of(t.format, &t.text, path));
            return Some(Origin::File {
                path: file.clone(),
                line,
            });
        }
        match metadata.name.as_ref() {
            ENV_LAYER => Some(Origin::Env {
                var: self.env_var(path),
            }),
            DEFAULTS_LAYER => Some(Origin::Default),
            _ => None,
        }
    }

    /// The variable that set `path`, or the first one below it.
    fn env_var(&self, path: &[String]) -> String {
        if let Some(var) = self.env_names.get(path) {
            return var.clone();
        }
        let mut below: Vec<(&Vec<String>, &String)> = self
            .env_names
            .iter()
            .filter(|(p, _)| p.starts_with(path))
            .collect();
        below.sort();
        below
            .first()
            .map(|(_, var)| (*var).clone())
            .unwrap_or_else(|| env_var_for(path))
    }

    fn check(&mut self, root: &Dict) -> Vec<ResolvedCompartment> {
        for (key, value) in root {
            if key != "defaults" && key != "compartments" {
                let origin = self.origin(value.tag(), std::slice::from_ref(key));
                self.problems.push(
                    Problem::new(
                        ProblemKind::UnknownKey,
                        "is not a top-level key; expected `defaults` or `compartments`",
                    )
                    .with_key(key.clone())
                    .with_origin(origin),
                );
            }
        }
        let inherited = self.check_defaults(root);
        self.check_compartments(root, &inherited)
    }

    /// A top-level table, or a problem.
    fn table<'r>(&mut self, root: &'r Dict, key: &str, what: &str) -> Option<&'r Dict> {
        match root.get(key)? {
            Value::Dict(_, dict) => Some(dict),
            other => {
                let origin = self.origin(other.tag(), &[key.to_owned()]);
                self.problems.push(
                    Problem::new(
                        ProblemKind::WrongType,
                        format!("must be a table of {what}, found {}", describe_value(other)),
                    )
                    .with_key(key)
                    .with_origin(origin),
                );
                None
            }
        }
    }

    /// Validates every `defaults.<kind>` section; returns, per kind, the keys that
    /// compartments inherit (those that are valid).
    fn check_defaults(&mut self, root: &Dict) -> HashMap<String, Dict> {
        let mut inherited = HashMap::new();
        let Some(defaults) = self.table(root, "defaults", "kinds") else {
            return inherited;
        };
        for (kind, value) in defaults {
            let path = ["defaults".to_owned(), kind.clone()];
            let Some(plugin) = self.plugins.get(kind.as_str()).cloned() else {
                let origin = self.origin(value.tag(), &path);
                let message = format!(
                    "no plugin builds this kind; known kinds: {}",
                    self.known_kinds()
                );
                self.problems.push(
                    Problem::new(ProblemKind::UnknownKind, message)
                        .in_defaults(kind)
                        .with_origin(origin),
                );
                continue;
            };
            let Value::Dict(_, dict) = value else {
                let origin = self.origin(value.tag(), &path);
                self.problems.push(
                    Problem::new(
                        ProblemKind::WrongType,
                        format!(
                            "must be a table of settings, found {}",
                            describe_value(value)
                        ),
                    )
                    .in_defaults(kind)
                    .with_origin(origin),
                );
                continue;
            };
            let at = At::Defaults { kind };
            let (_, valid) = self.check_section(&*plugin, dict.clone(), at);
            inherited.insert(kind.clone(), valid);
        }
        inherited
    }

    fn check_compartments(
        &mut self,
        root: &Dict,
        inherited: &HashMap<String, Dict>,
    ) -> Vec<ResolvedCompartment> {
        let mut resolved = Vec::new();
        let Some(compartments) = self.table(root, "compartments", "compartments") else {
            return resolved;
        };
        for (name, value) in compartments {
            let path = ["compartments".to_owned(), name.clone()];
            if let Some(why) = name_problem(name) {
                let origin = self.origin(value.tag(), &path);
                self.problems.push(
                    Problem::new(ProblemKind::InvalidName, why)
                        .in_compartment(name)
                        .with_origin(origin),
                );
            }
            let Value::Dict(_, section) = value else {
                let origin = self.origin(value.tag(), &path);
                self.problems.push(
                    Problem::new(
                        ProblemKind::WrongType,
                        format!(
                            "must be a table with a `kind` and its settings, found {}",
                            describe_value(value)
                        ),
                    )
                    .in_compartment(name)
                    .with_origin(origin),
                );
                continue;
            };
            let kind_path = [path[0].clone(), path[1].clone(), "kind".to_owned()];
            let (kind, kind_origin) = match section.get("kind") {
                Some(Value::String(tag, kind)) => (kind, self.origin(*tag, &kind_path)),
                Some(other) => {
                    let origin = self.origin(other.tag(), &kind_path);
                    let message = format!(
                        "must be a string naming a kind, found {}; known kinds: {}",
                        describe_value(other),
                        self.known_kinds()
                    );
                    self.problems.push(
                        Problem::new(ProblemKind::WrongType, message)
                            .in_compartment(name)
                            .with_key("kind")
                            .with_origin(origin),
                    );
                    continue;
                }
                None => {
                    let origin = self.origin(value.tag(), &path);
                    let message = format!("is missing; known kinds: {}", self.known_kinds());
                    self.problems.push(
                        Problem::new(ProblemKind::MissingKind, message)
                            .in_compartment(name)
                            .with_key("kind")
                            .with_origin(origin),
                    );
                    continue;
                }
            };
            let Some(plugin) = self.plugins.get(kind.as_str()).cloned() else {
                let message = format!(
                    "names an unknown kind `{kind}`; known kinds: {}",
                    self.known_kinds()
                );
                self.problems.push(
                    Problem::new(ProblemKind::UnknownKind, message)
                        .in_compartment(name)
                        .with_key("kind")
                        .with_origin(kind_origin),
                );
                continue;
            };
            let mut own = section.clone();
            own.remove("kind");
            let mut effective = inherited.get(kind.as_str()).cloned().unwrap_or_default();
            merge(&mut effective, own.clone());
            let at = At::Compartment {
                name,
                kind: plugin.kind(),
                own: &own,
            };
            let (config, _) = self.check_section(&*plugin, effective, at);
            let Some(config) = config else {
                continue;
            };
            match self.settings(&*plugin, &config, at, root) {
                Ok((values, settings)) => resolved.push(ResolvedCompartment {
                    name: name.clone(),
                    kind: plugin.kind(),
                    kind_origin,
                    settings,
                    plugin,
                    config,
                    values,
                }),
                Err(e) => self.problems.push(at.problem(Problem::new(
                    ProblemKind::InvalidValue,
                    format!("cannot be serialized: {e}"),
                ))),
            }
        }
        resolved
    }

    /// Deserializes a section into its kind's configuration and checks it.
    ///
    /// A key that fails to deserialize is reported and dropped, and the rest is tried
    /// again, so that every bad key of the section is reported at once. Returns the
    /// configuration (`None` when a key failed) and the keys that passed.
    fn check_section(
        &mut self,
        plugin: &dyn ErasedPlugin,
        mut dict: Dict,
        at: At<'_>,
    ) -> (Option<AnyConfig>, Dict) {
        let mut failed = false;
        let config = loop {
            let figment = Figment::new().merge(self.carrier.clone()).merge(Layer {
                metadata: Metadata::named(SECTION_LAYER),
                dict: dict.clone(),
            });
            match plugin.deserialize(&figment) {
                Ok(config) => break Some(config),
                Err(errors) => {
                    failed = true;
                    let mut dropped = false;
                    for error in errors {
                        self.problems.push(self.describe(&error, at));
                        dropped |= remove_path(&mut dict, &error.path);
                    }
                    if !dropped {
                        break None;
                    }
                }
            }
        };
        let Some(config) = config else {
            return (None, dict);
        };
        for problem in plugin.problems(&config) {
            let key: Vec<String> = problem.key().split('.').map(str::to_owned).collect();
            let origin = find(&dict, &key).and_then(|v| self.origin(v.tag(), &at.path(&key)));
            let set_by_user = matches!(origin, Some(Origin::File { .. } | Origin::Env { .. }));
            if matches!(at, At::Defaults { .. }) && !set_by_user {
                // A kind's built-in default may leave a key for each compartment to set
                // (a server to connect to): only what a file or the environment put in
                // `[defaults.<kind>]` can be wrong there.
                continue;
            }
            self.problems.push(
                at.problem(Problem::new(ProblemKind::InvalidValue, problem.message()))
                    .with_key(problem.key())
                    .with_origin(origin),
            );
            dict.remove(&key[0]);
            failed = true;
        }
        (if failed { None } else { Some(config) }, dict)
    }

    fn describe(&self, error: &figment::Error, at: At<'_>) -> Problem {
        let mut key = error.path.clone();
        let origin = error
            .metadata
            .as_ref()
            .and_then(|m| self.origin_of(m, &at.path(&key)));
        const DURATION_HINT: &str = "write it like \"250ms\" or \"10s\"";
        let (kind, message) = match &error.kind {
            Kind::UnknownField(_, expected) => (
                ProblemKind::UnknownKey,
                format!(
                    "is not a setting of kind `{}`; expected one of {}",
                    at.kind(),
                    list(expected)
                ),
            ),
            Kind::InvalidType(actual, expected) if expected.contains("duration") => (
                ProblemKind::WrongType,
                format!(
                    "is not a duration: found {}; {DURATION_HINT}",
                    found(actual)
                ),
            ),
            Kind::InvalidValue(actual, expected) if expected.contains("duration") => (
                ProblemKind::InvalidValue,
                format!(
                    "is not a duration: found {}; {DURATION_HINT}",
                    found(actual)
                ),
            ),
            Kind::InvalidType(actual, expected) => (
                ProblemKind::WrongType,
                format!(
                    "has the wrong type: expected {}, found {}",
                    expectation(expected),
                    found(actual)
                ),
            ),
            Kind::InvalidValue(Actual::Signed(n), _) if *n < 0 => (
                ProblemKind::InvalidValue,
                format!("must not be negative (got {n})"),
            ),
            Kind::InvalidValue(actual, expected) => (
                ProblemKind::InvalidValue,
                format!(
                    "is out of range: expected {}, found {}",
                    expectation(expected),
                    found(actual)
                ),
            ),
            Kind::MissingField(field) => {
                key.push(field.to_string());
                (ProblemKind::InvalidValue, "is required".to_owned())
            }
            Kind::ISizeOutOfRange(_) | Kind::USizeOutOfRange(_) => {
                (ProblemKind::InvalidValue, "is out of range".to_owned())
            }
            Kind::Message(message) => (ProblemKind::InvalidValue, message.clone()),
            other => (ProblemKind::InvalidValue, other.to_string()),
        };
        let problem = at.problem(Problem::new(kind, message)).with_origin(origin);
        if key.is_empty() {
            problem
        } else {
            problem.with_key(key.join("."))
        }
    }

    /// The resolved values of a configuration and where each came from.
    #[allow(clippy::result_large_err)] // only on the path of a refused configuration
    fn settings(
        &self,
        plugin: &dyn ErasedPlugin,
        config: &AnyConfig,
        at: At<'_>,
        root: &Dict,
    ) -> Result<(Dict, Vec<Setting>), figment::Error> {
        let values = match plugin.serialize(config)? {
            Value::Dict(_, values) => flatten(values),
            other => {
                let mut values = Dict::new();
                values.insert(String::new(), other);
                values
            }
        };
        let defaults = root
            .get("defaults")
            .and_then(Value::as_dict)
            .and_then(|d| d.get(at.kind()))
            .and_then(Value::as_dict);
        let own = match at {
            At::Compartment { own, .. } => Some(own),
            At::Defaults { .. } => None,
        };
        let settings = values
            .iter()
            .map(|(key, value)| {
                let key_path: Vec<String> = key.split('.').map(str::to_owned).collect();
                let (origin, inherited) = if let Some(v) = own.and_then(|o| find(o, &key_path)) {
                    (self.origin(v.tag(), &at.path(&key_path)), false)
                } else if let Some(v) = defaults.and_then(|d| find(d, &key_path)) {
                    let origin = self.origin(v.tag(), &at.path(&key_path));
                    let inherited = !matches!(origin, Some(Origin::Default) | None);
                    (origin, inherited)
                } else {
                    (Some(Origin::Default), false)
                };
                Setting {
                    key: key.clone(),
                    value: plugin.show(key, render(value)),
                    origin: origin.unwrap_or(Origin::Default),
                    inherited,
                }
            })
            .collect();
        Ok((values, settings))
    }
}

/// The resolved values of a configuration with nested tables spread into dotted keys
/// (`read.max_size`), so that each setting is shown, compared and reloaded on its own.
/// An empty table stays one value.
pub(crate) fn flatten(values: Dict) -> Dict {
    fn spread(prefix: &str, values: Dict, out: &mut Dict) {
        for (key, value) in values {
            let key = if prefix.is_empty() {
                key
            } else {
                format!("{prefix}.{key}")
            };
            match value {
                Value::Dict(_, inner) if !inner.is_empty() => spread(&key, inner, out),
                value => {
                    out.insert(key, value);
                }
            }
        }
    }
    let mut out = Dict::new();
    spread("", values, &mut out);
    out
}

/// Removes the value at `path` (a nested key), or the top-level key it is under when
/// there is no such value. Returns whether anything was removed.
fn remove_path(dict: &mut Dict, path: &[String]) -> bool {
    match path {
        [] => false,
        [last] => dict.remove(last).is_some(),
        [first, rest @ ..] => {
            let nested = match dict.get_mut(first) {
                Some(Value::Dict(_, inner)) => remove_path(inner, rest),
                _ => false,
            };
            nested || dict.remove(first).is_some()
        }
    }
}

fn find<'d>(dict: &'d Dict, path: &[String]) -> Option<&'d Value> {
    let (first, rest) = path.split_first()?;
    let value = dict.get(first)?;
    if rest.is_empty() {
        Some(value)
    } else {
        find(value.as_dict()?, rest)
    }
}

/// Lays `over` onto `base`, table by table.
fn merge(base: &mut Dict, over: Dict) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(Value::Dict(_, below)), Value::Dict(_, above)) => merge(below, above),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Why a compartment name is refused, if it is.
pub(crate) fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("the name is empty".to_owned());
    }
    if name.len() > MAX_NAME_LEN {
        return Some(format!(
            "the name is longer than {MAX_NAME_LEN} bytes ({})",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Some(format!(
            "the name has {c:?}: use ASCII letters, digits, `-`, `_` and `.`"
        ));
    }
    None
}

fn expectation(expected: &str) -> &str {
    match expected {
        "usize" | "u64" | "u32" | "u16" | "u8" | "u128" => "a non-negative integer",
        "isize" | "i64" | "i32" | "i16" | "i8" | "i128" => "an integer",
        "f64" | "f32" => "a number",
        "a boolean" | "bool" => "true or false",
        "a string" | "string" => "a string",
        other => other,
    }
}

fn found(actual: &Actual) -> String {
    match actual {
        Actual::Bool(b) => b.to_string(),
        Actual::Unsigned(n) => n.to_string(),
        Actual::Signed(n) => n.to_string(),
        Actual::Float(n) => n.to_string(),
        Actual::Char(c) => format!("{:?}", c.to_string()),
        Actual::Str(s) => format!("{s:?}"),
        Actual::Seq => "a list".to_owned(),
        Actual::Map => "a table".to_owned(),
        Actual::Unit | Actual::Option => "nothing".to_owned(),
        other => other.to_string(),
    }
}

fn describe_value(value: &Value) -> String {
    match value {
        Value::Dict(..) => "a table".to_owned(),
        Value::Array(..) => "a list".to_owned(),
        Value::Empty(..) => "nothing".to_owned(),
        other => render(other),
    }
}

/// A value as it would be written in TOML (`none` for an empty value).
pub(crate) fn render(value: &Value) -> String {
    match value {
        Value::String(_, s) => format!("{s:?}"),
        Value::Char(_, c) => format!("{:?}", c.to_string()),
        Value::Bool(_, b) => b.to_string(),
        Value::Num(_, n) => render_num(n),
        Value::Empty(..) => "none".to_owned(),
        Value::Array(_, items) => {
            let items: Vec<String> = items.iter().map(render).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Dict(_, dict) => {
            let items: Vec<String> = dict
                .iter()
                .map(|(k, v)| format!("{k} = {}", render(v)))
                .collect();
            format!("{{ {} }}", items.join(", "))
        }
    }
}

fn render_num(n: &Num) -> String {
    if let Some(u) = n.to_u128() {
        u.to_string()
    } else if let Some(i) = n.to_i128() {
        i.to_string()
    } else {
        n.to_f64().map(|f| f.to_string()).unwrap_or_default()
    }
}

/// The settings that differ between two resolved configurations of one kind:
/// `(key, from, to)`, sorted by key.
pub(crate) fn diff(from: &Dict, to: &Dict) -> Vec<(String, String, String)> {
    let mut keys: Vec<&String> = from.keys().chain(to.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| from.get(*k) != to.get(*k))
        .map(|k| {
            let show = |d: &Dict| d.get(k).map(render).unwrap_or_else(|| "none".to_owned());
            (k.clone(), show(from), show(to))
        })
        .collect()
}
