//! What goes wrong once a checkout is admitted, and the pool's background errors.

use std::error::Error;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bb8::RunError;

/// Why an admitted checkout got no connection from the bb8 pool.
#[derive(Debug)]
#[non_exhaustive]
pub enum PoolError<E> {
    /// The pool found no connection within its `connection_timeout`: opening one failed
    /// or took too long.
    TimedOut {
        /// The most recent error the pool reported while this checkout waited (a failed
        /// connection attempt or a failed check), when the compartment sees the pool's
        /// errors (see [`PoolErrors`]).
        last_error: Option<Arc<E>>,
    },
    /// The pool returned the manager's error.
    Backend(E),
}

impl<E> PoolError<E> {
    /// The manager's error behind this failure, if one is known.
    pub fn cause(&self) -> Option<&E> {
        match self {
            PoolError::TimedOut { last_error } => last_error.as_deref(),
            PoolError::Backend(e) => Some(e),
        }
    }
}

impl<E> From<RunError<E>> for PoolError<E> {
    fn from(error: RunError<E>) -> Self {
        match error {
            RunError::User(e) => PoolError::Backend(e),
            RunError::TimedOut => PoolError::TimedOut { last_error: None },
        }
    }
}

impl<E: fmt::Display> fmt::Display for PoolError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::TimedOut { last_error: None } => {
                f.write_str("no connection within the pool's connection timeout")
            }
            PoolError::TimedOut {
                last_error: Some(e),
            } => write!(
                f,
                "no connection within the pool's connection timeout; last error: {e}"
            ),
            PoolError::Backend(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl<E: Error + 'static> Error for PoolError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            PoolError::TimedOut { last_error } => {
                last_error.as_deref().map(|e| e as &(dyn Error + 'static))
            }
            PoolError::Backend(e) => Some(e),
        }
    }
}

/// Collects the errors a bb8 pool reports in the background (failed connection
/// attempts, failed checks), so a checkout that times out can say why.
///
/// bb8 opens connections in background tasks and hands their errors only to its
/// [`ErrorSink`](bb8::ErrorSink); a checkout waiting for a connection otherwise learns
/// nothing but "timed out". Install a `PoolErrors` as the pool's error sink and give it
/// to the compartment: a [`PoolError::TimedOut`] then carries the last error reported
/// during its wait.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use bulkhead_bb8::{Bb8Bulkhead, PoolErrors};
/// # struct Manager;
/// # impl bb8::ManageConnection for Manager {
/// #     type Connection = ();
/// #     type Error = std::io::Error;
/// #     async fn connect(&self) -> Result<(), Self::Error> { Ok(()) }
/// #     async fn is_valid(&self, _: &mut ()) -> Result<(), Self::Error> { Ok(()) }
/// #     fn has_broken(&self, _: &mut ()) -> bool { false }
/// # }
///
/// let errors = PoolErrors::new();
/// let pool = bb8::Pool::builder()
///     .error_sink(Box::new(errors.clone()))
///     .build_unchecked(Manager);
/// let db = Bb8Bulkhead::builder("db").pool_errors(errors).build(pool)?;
/// # let _ = db;
/// # Ok(())
/// # }
/// ```
pub struct PoolErrors<E> {
    shared: Arc<Recent<E>>,
}

struct Recent<E> {
    /// Errors reported so far.
    count: AtomicU64,
    last: Mutex<Option<Arc<E>>>,
}

impl<E> PoolErrors<E> {
    /// An empty collector.
    pub fn new() -> Self {
        PoolErrors {
            shared: Arc::new(Recent {
                count: AtomicU64::new(0),
                last: Mutex::new(None),
            }),
        }
    }

    /// Records an error.
    pub fn record(&self, error: E) {
        let mut last = self.shared.last.lock().unwrap_or_else(|p| p.into_inner());
        *last = Some(Arc::new(error));
        // Counted under the lock, so whoever sees the new count finds this error.
        self.shared.count.fetch_add(1, Ordering::Release);
    }

    /// Errors recorded so far.
    pub fn count(&self) -> u64 {
        self.shared.count.load(Ordering::Acquire)
    }

    /// The most recent error, if any.
    pub fn last(&self) -> Option<Arc<E>> {
        self.shared
            .last
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl<E> Clone for PoolErrors<E> {
    fn clone(&self) -> Self {
        PoolErrors {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<E> Default for PoolErrors<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> fmt::Debug for PoolErrors<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolErrors")
            .field("count", &self.count())
            .finish()
    }
}

impl<E: Send + Sync + 'static> bb8::ErrorSink<E> for PoolErrors<E> {
    fn sink(&self, error: E) {
        self.record(error);
    }

    fn boxed_clone(&self) -> Box<dyn bb8::ErrorSink<E>> {
        Box::new(self.clone())
    }
}

/// What the compartment needs from a [`PoolErrors`], without naming its bounds.
pub(crate) trait ErrorLog<E>: Send + Sync {
    /// Errors recorded so far.
    fn count(&self) -> u64;
    /// The most recent error, if one was recorded after the first `count` errors.
    fn since(&self, count: u64) -> Option<Arc<E>>;
}

impl<E: Send + Sync> ErrorLog<E> for PoolErrors<E> {
    fn count(&self) -> u64 {
        PoolErrors::count(self)
    }

    fn since(&self, count: u64) -> Option<Arc<E>> {
        if PoolErrors::count(self) == count {
            None
        } else {
            self.last()
        }
    }
}
