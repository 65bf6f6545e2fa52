//! The one rejection error every compartment returns.

use std::error::Error;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Why a compartment refused a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// No slot was free and the caller was not allowed to wait.
    Full,
    /// No slot was free and the bounded wait queue was already full.
    QueueFull,
    /// The caller waited for a slot as long as allowed.
    Timeout {
        /// How long the caller waited.
        waited: Duration,
    },
    /// The compartment was closed before or while the caller waited.
    Closed,
}

impl RejectReason {
    /// Every reason's label value, in the order of [`RejectReason::as_str`].
    pub const LABELS: [&'static str; 4] = ["full", "queue_full", "timeout", "closed"];

    /// The label value used in metrics and spans: `full`, `queue_full`, `timeout`,
    /// `closed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            RejectReason::Full => "full",
            RejectReason::QueueFull => "queue_full",
            RejectReason::Timeout { .. } => "timeout",
            RejectReason::Closed => "closed",
        }
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectReason::Full => f.write_str("no free slot"),
            RejectReason::QueueFull => f.write_str("wait queue is full"),
            RejectReason::Timeout { waited } => write!(f, "timed out after waiting {waited:?}"),
            RejectReason::Closed => f.write_str("compartment is closed"),
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.describe(f)
    }
}

/// A compartment refused a caller.
///
/// Names the compartment and the [`RejectReason`]. A compartment may suggest when to
/// retry ([`retry_after`](Rejected::retry_after)); HTTP integrations turn that into a
/// `Retry-After` header.
///
/// One pointer wide, so a `Result<Permit, Rejected>` stays small on the admission
/// path; the details live on the heap, allocated only when a call is refused.
#[derive(Clone, PartialEq, Eq)]
pub struct Rejected {
    details: Box<Details>,
}

#[derive(Clone, PartialEq, Eq)]
struct Details {
    compartment: Arc<str>,
    reason: RejectReason,
    waited: Duration,
    retry_after: Option<Duration>,
}

impl Rejected {
    /// A rejection by `compartment` for `reason`.
    ///
    /// The time waited is taken from a [`RejectReason::Timeout`]; use
    /// [`with_waited`](Rejected::with_waited) for callers rejected for another reason
    /// after waiting (a compartment closed under them, say).
    pub fn new(compartment: Arc<str>, reason: RejectReason) -> Self {
        let waited = match reason {
            RejectReason::Timeout { waited } => waited,
            _ => Duration::ZERO,
        };
        Rejected {
            details: Box::new(Details {
                compartment,
                reason,
                waited,
                retry_after: None,
            }),
        }
    }

    /// Records how long the caller waited before being rejected.
    pub fn with_waited(mut self, waited: Duration) -> Self {
        self.details.waited = waited;
        self
    }

    /// Suggests how long the caller should wait before retrying.
    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.details.retry_after = retry_after;
        self
    }

    /// The name of the compartment that refused the caller.
    pub fn compartment(&self) -> &str {
        &self.details.compartment
    }

    /// Why the caller was refused.
    pub fn reason(&self) -> RejectReason {
        self.details.reason
    }

    /// How long the caller waited before being refused; zero for callers that did not
    /// wait.
    pub fn waited(&self) -> Duration {
        self.details.waited
    }

    /// The compartment's suggestion for when to retry, if it has one.
    ///
    /// Never set for [`RejectReason::Closed`]: a closed compartment does not reopen.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.details.reason {
            RejectReason::Closed => None,
            _ => self.details.retry_after,
        }
    }
}

impl fmt::Debug for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.details;
        f.debug_struct("Rejected")
            .field("compartment", &&*d.compartment)
            .field("reason", &d.reason)
            .field("waited", &d.waited)
            .field("retry_after", &d.retry_after)
            .finish()
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bulkhead `{}` rejected the call: ",
            self.details.compartment
        )?;
        self.details.reason.describe(f)
    }
}

impl Error for Rejected {}

/// The error of a guarded call: either the compartment refused it, or the backend
/// behind the compartment failed.
///
/// Backend errors stay beside rejections, never wrapped inside them, so callers can tell
/// "the database is slow" from "we protected ourselves".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError<E> {
    /// The compartment refused the call.
    Rejected(Rejected),
    /// The call was admitted and the backend failed.
    Backend(E),
}

impl<E> CallError<E> {
    /// The rejection, if the compartment refused the call.
    pub fn rejected(&self) -> Option<&Rejected> {
        match self {
            CallError::Rejected(r) => Some(r),
            CallError::Backend(_) => None,
        }
    }

    /// The backend's error, if the call was admitted and failed.
    pub fn backend(&self) -> Option<&E> {
        match self {
            CallError::Rejected(_) => None,
            CallError::Backend(e) => Some(e),
        }
    }

    /// Turns the backend's error into another type, keeping rejections.
    pub fn map_backend<F, T>(self, f: F) -> CallError<T>
    where
        F: FnOnce(E) -> T,
    {
        match self {
            CallError::Rejected(r) => CallError::Rejected(r),
            CallError::Backend(e) => CallError::Backend(f(e)),
        }
    }
}

impl<E> From<Rejected> for CallError<E> {
    fn from(r: Rejected) -> Self {
        CallError::Rejected(r)
    }
}

impl<E: fmt::Display> fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Rejected(r) => fmt::Display::fmt(r, f),
            CallError::Backend(e) => write!(f, "backend error: {e}"),
        }
    }
}

impl<E: Error + 'static> Error for CallError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            CallError::Rejected(r) => Some(r),
            CallError::Backend(e) => Some(e),
        }
    }
}
