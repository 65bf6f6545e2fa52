//! Errors: refused configurations, failed lookups, and where a value came from.

use std::error::Error;
use std::fmt;
use std::path::{Path, PathBuf};

/// Any error a plugin's `build` or `reconfigure` may return.
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// A configuration file, with the line when it is known.
    File {
        /// The file, as it was given (or found).
        path: PathBuf,
        /// The 1-based line of the value, when it could be located.
        line: Option<usize>,
    },
    /// An environment variable.
    Env {
        /// The variable's name, such as `BULKHEAD_COMPARTMENTS__ORDERS__MAX_WAIT`.
        var: String,
    },
    /// The built-in default of the compartment's kind (its config's `Default`).
    Default,
}

impl Origin {
    /// The file, for values that came from one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Origin::File { path, .. } => Some(path),
            _ => None,
        }
    }

    /// The 1-based line in the file, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            Origin::File { line, .. } => *line,
            _ => None,
        }
    }

    /// The environment variable, for values that came from one.
    pub fn env_var(&self) -> Option<&str> {
        match self {
            Origin::Env { var } => Some(var),
            _ => None,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File {
                path,
                line: Some(line),
            } => write!(f, "{}:{line}", path.display()),
            Origin::File { path, line: None } => write!(f, "{}", path.display()),
            Origin::Env { var } => write!(f, "environment variable {var}"),
            Origin::Default => f.write_str("built-in default"),
        }
    }
}

/// What kind of mistake a [`Problem`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProblemKind {
    /// A configuration file could not be read (missing, unreadable, not UTF-8, or an
    /// extension other than `.toml`, `.yaml` and `.yml`).
    UnreadableFile,
    /// A configuration file is not valid TOML or YAML.
    MalformedFile,
    /// A key that the section does not have.
    UnknownKey,
    /// A `kind` (or a `[defaults.<kind>]` section) that no registered plugin builds.
    UnknownKind,
    /// A compartment without a `kind`.
    MissingKind,
    /// A value of the wrong type, such as a string where a number belongs.
    WrongType,
    /// A value of the right type that is refused: zero, negative or absurd limits,
    /// unparsable durations.
    InvalidValue,
    /// A compartment name that is empty, too long, or has characters other than ASCII
    /// letters, digits, `-`, `_` and `.`.
    InvalidName,
    /// An environment variable that cannot be mapped onto the configuration.
    InvalidEnvironment,
    /// A plugin failed to build a compartment from a valid configuration.
    Build,
}

/// One mistake in a configuration: which compartment, which key, where the value came
/// from, and what is wrong.
///
/// Displays as ``ORIGIN: compartment `NAME`: `KEY` MESSAGE``, the parts that are unknown
/// left out:
///
/// ```text
/// config/bulkhead.yaml:12: compartment `orders`: `max_concurrent` must be at least 1 (got 0)
/// environment variable BULKHEAD_COMPARTMENTS__ORDERS__MAX_WAIT: compartment `orders`: `max_wait` is not a duration: found string "soon"; write it like "250ms" or "10s"
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    inner: Box<Details>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Details {
    kind: ProblemKind,
    section: Option<Section>,
    key: Option<String>,
    origin: Option<Origin>,
    message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Section {
    Compartment(String),
    Defaults(String),
}

impl Problem {
    pub(crate) fn new(kind: ProblemKind, message: impl Into<String>) -> Self {
        Problem {
            inner: Box::new(Details {
                kind,
                section: None,
                key: None,
                origin: None,
                message: message.into(),
            }),
        }
    }

    pub(crate) fn in_compartment(mut self, name: &str) -> Self {
        self.inner.section = Some(Section::Compartment(name.to_owned()));
        self
    }

    pub(crate) fn in_defaults(mut self, kind: &str) -> Self {
        self.inner.section = Some(Section::Defaults(kind.to_owned()));
        self
    }

    pub(crate) fn with_key(mut self, key: impl Into<String>) -> Self {
        self.inner.key = Some(key.into());
        self
    }

    pub(crate) fn with_origin(mut self, origin: Option<Origin>) -> Self {
        self.inner.origin = origin;
        self
    }

    /// What kind of mistake this is.
    pub fn kind(&self) -> ProblemKind {
        self.inner.kind
    }

    /// The compartment the mistake is in, when it is in one.
    pub fn compartment(&self) -> Option<&str> {
        match &self.inner.section {
            Some(Section::Compartment(name)) => Some(name),
            _ => None,
        }
    }

    /// The kind whose `[defaults.<kind>]` section the mistake is in, when it is in one.
    pub fn defaults_of(&self) -> Option<&str> {
        match &self.inner.section {
            Some(Section::Defaults(kind)) => Some(kind),
            _ => None,
        }
    }

    /// The key, relative to its section (`max_wait`), or a top-level key.
    pub fn key(&self) -> Option<&str> {
        self.inner.key.as_deref()
    }

    /// Where the offending value came from, when known.
    pub fn origin(&self) -> Option<&Origin> {
        self.inner.origin.as_ref()
    }

    /// What is wrong, in lowercase, without the location.
    pub fn message(&self) -> &str {
        &self.inner.message
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(origin) = &self.inner.origin {
            write!(f, "{origin}: ")?;
        }
        match &self.inner.section {
            Some(Section::Compartment(name)) => write!(f, "compartment `{name}`: ")?,
            Some(Section::Defaults(kind)) => write!(f, "`defaults.{kind}`: ")?,
            None => {}
        }
        match &self.inner.key {
            Some(key) => write!(f, "`{key}` {}", self.inner.message),
            None => f.write_str(&self.inner.message),
        }
    }
}

impl Error for Problem {}

/// A configuration was refused; nothing was built or changed.
///
/// Carries every [`Problem`] that could be found in one pass: all unreadable or
/// malformed sources, or (when every source could be read) every bad key of every
/// section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    problems: Vec<Problem>,
}

impl LoadError {
    pub(crate) fn new(problems: Vec<Problem>) -> Self {
        debug_assert!(!problems.is_empty());
        LoadError { problems }
    }

    /// Every problem found, in the order of the sources and sections.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// Consumes the error, returning its problems.
    pub fn into_problems(self) -> Vec<Problem> {
        self.problems
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "invalid bulkhead configuration: {one}"),
            many => {
                write!(
                    f,
                    "invalid bulkhead configuration ({} problems):",
                    many.len()
                )?;
                for problem in many {
                    write!(f, "\n  {problem}")?;
                }
                Ok(())
            }
        }
    }
}

impl Error for LoadError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.problems.first().map(|p| p as &(dyn Error + 'static))
    }
}

/// A compartment could not be looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LookupError {
    /// No compartment has that name.
    NotFound {
        /// The name asked for.
        name: String,
        /// Every name the registry has, sorted.
        known: Vec<String>,
    },
    /// The compartment exists but is not of the type asked for.
    WrongType {
        /// The name asked for.
        name: String,
        /// The compartment's kind.
        kind: &'static str,
        /// The type the compartment is.
        actual: &'static str,
        /// The type asked for.
        expected: &'static str,
    },
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupError::NotFound { name, known } if known.is_empty() => {
                write!(f, "no compartment named `{name}`: the registry is empty")
            }
            LookupError::NotFound { name, known } => {
                write!(f, "no compartment named `{name}`; known: {}", list(known))
            }
            LookupError::WrongType {
                name,
                kind,
                actual,
                expected,
            } => write!(
                f,
                "compartment `{name}` is a `{actual}` (kind `{kind}`), not a `{expected}`"
            ),
        }
    }
}

impl Error for LookupError {}

/// `a`, `b`, `c` for messages.
pub(crate) fn list<S: AsRef<str>>(items: &[S]) -> String {
    if items.is_empty() {
        return "none".to_owned();
    }
    items
        .iter()
        .map(|s| format!("`{}`", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}
