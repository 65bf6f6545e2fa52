//! Where configuration comes from: built-in defaults, files, environment variables.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use figment::providers::{Format as _, Toml, Yaml};
use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider, Source};

use crate::error::{list, Origin, Problem, ProblemKind};
use crate::locate::Format;

/// The prefix of every environment variable the registry reads.
pub const ENV_PREFIX: &str = "BULKHEAD_";

/// The environment variable naming the configuration file(s), used when no file was
/// given through [`Sources::file`]. Several files are separated like `PATH` entries
/// (`:` on Unix, `;` on Windows); later files override earlier ones.
pub const CONFIG_ENV: &str = "BULKHEAD_CONFIG";

/// The files looked for in the current directory when neither [`Sources::file`],
/// [`CONFIG_ENV`] nor [`Sources::default_file`] names one.
pub const DEFAULT_FILES: [&str; 3] = ["bulkhead.toml", "bulkhead.yaml", "bulkhead.yml"];

/// The separator of nesting levels in environment variable names.
pub const ENV_SEPARATOR: &str = "__";

pub(crate) const DEFAULTS_LAYER: &str = "built-in defaults";
pub(crate) const ENV_LAYER: &str = "environment variable";

/// The environment variables to layer on top of the files.
///
/// Tests and embedders pass their own variables with [`Environment::from_vars`]
/// instead of changing the process environment.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: Option<Vec<(String, String)>>,
}

impl Environment {
    /// The process environment, read each time the configuration is loaded (default).
    pub fn process() -> Self {
        Environment { vars: None }
    }

    /// Exactly these variables, as if they were the whole environment.
    pub fn from_vars<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Environment {
            vars: Some(
                vars.into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
        }
    }

    /// No variables at all: configuration from defaults and files only.
    pub fn empty() -> Self {
        Environment {
            vars: Some(Vec::new()),
        }
    }

    /// The variables whose names start with [`ENV_PREFIX`] (in any case), sorted by
    /// name. Variables that are not valid Unicode are skipped.
    fn snapshot(&self) -> Vec<(String, String)> {
        let mut vars: Vec<(String, String)> = match &self.vars {
            Some(vars) => vars
                .iter()
                .filter(|(k, _)| has_prefix(k))
                .cloned()
                .collect(),
            None => std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .filter(|(k, _)| has_prefix(k))
                .collect(),
        };
        vars.sort();
        vars
    }
}

fn has_prefix(name: &str) -> bool {
    name.len() > ENV_PREFIX.len()
        && name.as_bytes()[..ENV_PREFIX.len()].eq_ignore_ascii_case(ENV_PREFIX.as_bytes())
}

/// The layers a configuration is read from, lowest first: built-in defaults, then
/// files, then environment variables.
///
/// Files: those given with [`file`](Sources::file); when none is given, those named
/// by [`CONFIG_ENV`]; when it is unset, the [`default_file`](Sources::default_file);
/// when there is none, whichever of [`DEFAULT_FILES`] exists in the current directory
/// (two of them is an error). Later files override earlier ones key by key.
///
/// ```
/// use bulkhead_registry::{Environment, Sources};
///
/// let sources = Sources::new()
///     .file("config/bulkhead.yaml")
///     .environment(Environment::from_vars([(
///         "BULKHEAD_COMPARTMENTS__ORDER_API__MAX_CONCURRENT",
///         "80",
///     )]));
/// # let _ = sources;
/// ```
#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: Vec<PathBuf>,
    default_file: Option<PathBuf>,
    env: Environment,
}

impl Sources {
    /// No explicit file, the process environment.
    pub fn new() -> Self {
        Sources::default()
    }

    /// Adds a file (TOML for `.toml`, YAML for `.yaml`/`.yml`), layered over the files
    /// added before it. Once a file is added, [`CONFIG_ENV`] is not consulted.
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        self.files.push(path.into());
        self
    }

    /// Adds several files, in order.
    pub fn files<I, P>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<PathBuf>,
    {
        self.files.extend(paths.into_iter().map(Into::into));
        self
    }

    /// The file to read when no file was added and [`CONFIG_ENV`] is unset, instead of
    /// looking for [`DEFAULT_FILES`].
    pub fn default_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.default_file = Some(path.into());
        self
    }

    /// The environment variables to layer on top (default: the process environment).
    pub fn environment(mut self, env: Environment) -> Self {
        self.env = env;
        self
    }

    /// The files a load would read now, given the environment.
    pub fn resolve_files(&self) -> Result<Vec<PathBuf>, Problem> {
        self.file_list(&self.env.snapshot())
    }

    fn file_list(&self, vars: &[(String, String)]) -> Result<Vec<PathBuf>, Problem> {
        if !self.files.is_empty() {
            return Ok(self.files.clone());
        }
        let named = vars
            .iter()
            .filter(|(k, v)| k.eq_ignore_ascii_case(CONFIG_ENV) && !v.is_empty())
            .map(|(_, v)| v)
            .next_back();
        if let Some(paths) = named {
            return Ok(std::env::split_paths(&OsString::from(paths))
                .filter(|p| !p.as_os_str().is_empty())
                .collect());
        }
        if let Some(default) = &self.default_file {
            return Ok(vec![default.clone()]);
        }
        let found: Vec<PathBuf> = DEFAULT_FILES
            .iter()
            .map(PathBuf::from)
            .filter(|p| p.is_file())
            .collect();
        if found.len() > 1 {
            let names: Vec<String> = found.iter().map(|p| p.display().to_string()).collect();
            return Err(Problem::new(
                ProblemKind::UnreadableFile,
                format!(
                    "found {} in the current directory; keep one, or name one with {CONFIG_ENV}",
                    list(&names)
                ),
            ));
        }
        Ok(found)
    }
}

/// One parsed file.
pub(crate) struct FileText {
    pub(crate) format: Format,
    pub(crate) text: String,
}

/// Everything read from the sources, before validation.
pub(crate) struct Layers {
    pub(crate) files: Vec<PathBuf>,
    pub(crate) file_dicts: Vec<(PathBuf, Format, Dict)>,
    pub(crate) texts: HashMap<PathBuf, FileText>,
    pub(crate) vars: Vec<(String, String)>,
}

/// Reads and parses every file; reports every unreadable or malformed one.
pub(crate) fn read(sources: &Sources) -> Result<Layers, Vec<Problem>> {
    let vars = sources.env.snapshot();
    let files = sources.file_list(&vars).map_err(|p| vec![p])?;
    let mut problems = Vec::new();
    let mut file_dicts = Vec::new();
    let mut texts = HashMap::new();
    for path in &files {
        match read_file(path) {
            Ok((format, text, dict)) => {
                file_dicts.push((path.clone(), format, dict));
                texts.insert(path.clone(), FileText { format, text });
            }
            Err(problem) => problems.push(problem),
        }
    }
    if problems.is_empty() {
        Ok(Layers {
            files,
            file_dicts,
            texts,
            vars,
        })
    } else {
        Err(problems)
    }
}

fn read_file(path: &Path) -> Result<(Format, String, Dict), Problem> {
    let at = |line: Option<usize>| {
        Some(Origin::File {
            path: path.to_owned(),
            line,
        })
    };
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let format = match extension.as_deref() {
        Some("toml") => Format::Toml,
        Some("yaml" | "yml") => Format::Yaml,
        _ => {
            return Err(Problem::new(
                ProblemKind::UnreadableFile,
                "has an unsupported extension: use .toml, .yaml or .yml",
            )
            .with_origin(at(None)))
        }
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "does not exist".to_owned(),
            std::io::ErrorKind::PermissionDenied => "cannot be read: permission denied".to_owned(),
            std::io::ErrorKind::InvalidData => "cannot be read: not UTF-8 text".to_owned(),
            std::io::ErrorKind::IsADirectory => "is a directory, not a file".to_owned(),
            _ => format!("cannot be read: {}", lowercase_first(&e.to_string())),
        };
        Problem::new(ProblemKind::UnreadableFile, why).with_origin(at(None))
    })?;
    let parsed = match format {
        Format::Toml => Toml::from_str::<Dict>(&text).map_err(|e| {
            let line = e.span().map(|span| line_of_offset(&text, span.start));
            (
                line,
                format!("is not valid TOML: {}", one_line(e.message())),
            )
        }),
        Format::Yaml => Yaml::from_str::<Option<Dict>>(&text)
            .map(Option::unwrap_or_default)
            .map_err(|e| {
                let line = e.location().map(|l| l.line());
                (
                    line,
                    format!(
                        "is not valid YAML: {}",
                        one_line(&strip_location(&e.to_string()))
                    ),
                )
            }),
    };
    match parsed {
        Ok(dict) => Ok((format, text, dict)),
        Err((line, message)) => {
            Err(Problem::new(ProblemKind::MalformedFile, message).with_origin(at(line)))
        }
    }
}

fn line_of_offset(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// serde_yaml appends " at line L column C" to its messages; the origin says it.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A layer of configuration data under one figment metadata.
pub(crate) struct Layer {
    pub(crate) metadata: Metadata,
    pub(crate) dict: Dict,
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        self.metadata.clone()
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut map = Map::new();
        map.insert(Profile::Default, self.dict.clone());
        Ok(map)
    }
}

pub(crate) fn file_layer(path: &Path, format: Format, dict: Dict) -> Layer {
    let name = match format {
        Format::Toml => "TOML file",
        Format::Yaml => "YAML file",
    };
    Layer {
        metadata: Metadata::from(name, Source::File(path.to_owned())),
        dict,
    }
}

pub(crate) fn defaults_layer(defaults: Dict) -> Layer {
    let mut root = Dict::new();
    root.insert("defaults".to_owned(), Value::from(defaults));
    Layer {
        metadata: Metadata::named(DEFAULTS_LAYER),
        dict: root,
    }
}

/// How the names in configuration paths are written in environment variables.
pub(crate) type EnvNames = Arc<HashMap<Vec<String>, String>>;

/// Maps `BULKHEAD_A__B__C=value` onto `a.b.c = value`.
///
/// Only variables with a `__` after the prefix are configuration; others (and
/// `BULKHEAD_CONFIG`) are left alone. Segments are lowercased, except the second one
/// under `compartments` and `defaults`, which is matched against the names the lower
/// layers already have (compartment names, registered kinds), ignoring case and taking
/// `_` for `-` or `.`; a segment that matches none is the lowercased segment itself.
pub(crate) fn env_layer(
    vars: &[(String, String)],
    compartments: &[String],
    kinds: &[String],
) -> (Layer, EnvNames, Vec<Problem>) {
    let mut root = Dict::new();
    let mut names: HashMap<Vec<String>, String> = HashMap::new();
    let mut problems = Vec::new();
    for (var, raw) in vars {
        let rest = &var[ENV_PREFIX.len()..];
        if rest.eq_ignore_ascii_case("CONFIG") || !rest.contains(ENV_SEPARATOR) {
            continue;
        }
        let origin = Some(Origin::Env { var: var.clone() });
        let segments: Vec<&str> = rest.split(ENV_SEPARATOR).collect();
        if segments.iter().any(|s| s.is_empty()) {
            problems.push(
                Problem::new(
                    ProblemKind::InvalidEnvironment,
                    format!("has an empty segment: levels are separated by one `{ENV_SEPARATOR}`"),
                )
                .with_origin(origin),
            );
            continue;
        }
        let mut path: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
        let candidates = match path[0].as_str() {
            "compartments" => Some(("compartment", compartments)),
            "defaults" => Some(("kind", kinds)),
            _ => None,
        };
        if let (Some((what, candidates)), Some(segment)) = (candidates, path.get(1)) {
            let matches: Vec<&String> = candidates
                .iter()
                .filter(|c| env_form(c) == env_form(segment))
                .collect();
            match matches.as_slice() {
                [] => {}
                [one] => path[1] = (*one).clone(),
                many => {
                    let many: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
                    problems.push(
                        Problem::new(
                            ProblemKind::InvalidEnvironment,
                            format!(
                                "matches more than one {what}: {}; rename one of them",
                                list(&many)
                            ),
                        )
                        .with_origin(origin),
                    );
                    continue;
                }
            }
        }
        let value: Value = raw.parse().unwrap_or_else(|never| match never {});
        insert(&mut root, &path, value);
        names.insert(path, var.clone());
    }
    let names: EnvNames = Arc::new(names);
    let lookup = Arc::clone(&names);
    let metadata = Metadata::named(ENV_LAYER).interpolater(move |_profile, keys: &[&str]| {
        let path: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
        lookup
            .get(&path)
            .cloned()
            .unwrap_or_else(|| env_var_for(&path))
    });
    (
        Layer {
            metadata,
            dict: root,
        },
        names,
        problems,
    )
}

/// A name as it is compared with an environment variable segment.
pub(crate) fn env_form(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '-' | '.' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// The environment variable that sets the key at `path`: [`ENV_PREFIX`], then each
/// level in upper case with `-` and `.` written `_`, joined by [`ENV_SEPARATOR`].
///
/// ```
/// use bulkhead_registry::env_var_for;
///
/// assert_eq!(
///     env_var_for(&["compartments", "order-api", "max_wait"]),
///     "BULKHEAD_COMPARTMENTS__ORDER_API__MAX_WAIT",
/// );
/// ```
pub fn env_var_for<S: AsRef<str>>(path: &[S]) -> String {
    let mut var = ENV_PREFIX.to_owned();
    let segments: Vec<String> = path
        .iter()
        .map(|s| env_form(s.as_ref()).to_ascii_uppercase())
        .collect();
    var.push_str(&segments.join(ENV_SEPARATOR));
    var
}

fn insert(root: &mut Dict, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut dict = root;
    for key in parents {
        let entry = dict
            .entry(key.clone())
            .or_insert_with(|| Value::from(Dict::new()));
        if entry.as_dict().is_none() {
            // A variable for a parent key is replaced by the variables below it.
            *entry = Value::from(Dict::new());
        }
        let Value::Dict(_, next) = entry else {
            return;
        };
        dict = next;
    }
    dict.insert(last.clone(), value);
}

/// The sections of the lower layers, for matching environment variable names.
pub(crate) fn section_names(root: &Dict, section: &str) -> Vec<String> {
    root.get(section)
        .and_then(Value::as_dict)
        .map(|d| d.keys().cloned().collect())
        .unwrap_or_default()
}
