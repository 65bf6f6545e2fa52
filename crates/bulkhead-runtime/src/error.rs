//! Errors of runtime compartments.

use std::convert::Infallible;
use std::error::Error;
use std::fmt;
use std::io;

use bulkhead_core::{ConfigError, Rejected};

/// Why work submitted to a runtime compartment did not produce its output.
///
/// `E` is the error of the work itself, for calls whose output is a `Result` (see
/// [`execute_result`](crate::RuntimeBulkhead::execute_result) and the tower layer);
/// plain [`execute`](crate::RuntimeBulkhead::execute) uses the default, [`Infallible`],
/// so [`Backend`](ExecuteError::Backend) never happens there.
///
/// Each variant says who stopped the work: the compartment refused it, the work failed
/// or panicked, its caller aborted it, or the runtime was stopped under it. A panic is
/// reported to the caller whose task panicked, and to no one else: the compartment
/// keeps serving.
///
/// [`CallError`](bulkhead_core::CallError) is not used here because a panic, an abort
/// and a stopped runtime are neither a rejection nor the work's own error; `Rejected`
/// and `Backend` mean the same as there.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExecuteError<E = Infallible> {
    /// The compartment refused the work: no queue slot, or it is closed.
    Rejected(Rejected),
    /// The work ran and returned an error.
    Backend(E),
    /// The work panicked; the panic message is kept (the payload is not, so that the
    /// error stays `Send + Sync`).
    Panicked {
        /// The panic message, or a placeholder when the payload was not a string.
        message: String,
    },
    /// The work was aborted through its handle ([`RuntimeHandle::abort`](crate::RuntimeHandle::abort))
    /// before it finished.
    Cancelled,
    /// The runtime was stopped before the work finished: by
    /// [`shutdown`](crate::RuntimeBulkhead::shutdown) at its deadline, or because the
    /// last handle to the compartment was dropped.
    ShutDown,
}

impl<E> ExecuteError<E> {
    /// The rejection, if the compartment refused the work.
    pub fn rejected(&self) -> Option<&Rejected> {
        match self {
            ExecuteError::Rejected(r) => Some(r),
            _ => None,
        }
    }

    /// The work's own error, if it ran and failed.
    pub fn backend(&self) -> Option<&E> {
        match self {
            ExecuteError::Backend(e) => Some(e),
            _ => None,
        }
    }

    /// The panic message, if the work panicked.
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            ExecuteError::Panicked { message } => Some(message),
            _ => None,
        }
    }

    /// Turns the work's error into another type, keeping every other variant.
    ///
    /// With `E = Infallible`, `map_backend(|never| match never {})` widens a plain
    /// [`execute`](crate::RuntimeBulkhead::execute) error to any `ExecuteError<T>`.
    pub fn map_backend<F, T>(self, f: F) -> ExecuteError<T>
    where
        F: FnOnce(E) -> T,
    {
        match self {
            ExecuteError::Rejected(r) => ExecuteError::Rejected(r),
            ExecuteError::Backend(e) => ExecuteError::Backend(f(e)),
            ExecuteError::Panicked { message } => ExecuteError::Panicked { message },
            ExecuteError::Cancelled => ExecuteError::Cancelled,
            ExecuteError::ShutDown => ExecuteError::ShutDown,
        }
    }
}

impl<E> From<Rejected> for ExecuteError<E> {
    fn from(r: Rejected) -> Self {
        ExecuteError::Rejected(r)
    }
}

impl<E: fmt::Display> fmt::Display for ExecuteError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecuteError::Rejected(r) => fmt::Display::fmt(r, f),
            ExecuteError::Backend(e) => write!(f, "backend error: {e}"),
            ExecuteError::Panicked { message } => write!(f, "task panicked: {message}"),
            ExecuteError::Cancelled => f.write_str("task was cancelled"),
            ExecuteError::ShutDown => f.write_str("runtime shut down before the task finished"),
        }
    }
}

impl<E: Error + 'static> Error for ExecuteError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ExecuteError::Rejected(r) => Some(r),
            ExecuteError::Backend(e) => Some(e),
            _ => None,
        }
    }
}

/// A runtime compartment could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// The configuration was refused.
    Config(ConfigError),
    /// The configuration was valid but tokio could not start the runtime (its threads,
    /// usually).
    Runtime {
        /// The compartment's name.
        compartment: String,
        /// What tokio reported.
        error: io::Error,
    },
}

impl BuildError {
    /// The configuration problem, if the configuration was refused.
    pub fn config(&self) -> Option<&ConfigError> {
        match self {
            BuildError::Config(e) => Some(e),
            BuildError::Runtime { .. } => None,
        }
    }
}

impl From<ConfigError> for BuildError {
    fn from(e: ConfigError) -> Self {
        BuildError::Config(e)
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Config(e) => fmt::Display::fmt(e, f),
            BuildError::Runtime { compartment, error } => {
                write!(
                    f,
                    "compartment `{compartment}`: cannot start its runtime: {error}"
                )
            }
        }
    }
}

impl Error for BuildError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            BuildError::Config(e) => Some(e),
            BuildError::Runtime { error, .. } => Some(error),
        }
    }
}
