//! Events a compartment emits to its observer.

use std::fmt;
use std::time::Duration;

/// A caller was given a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Admitted {
    /// How long the caller waited for the slot; zero when one was free at once.
    pub wait: Duration,
}

impl Admitted {
    /// An admission after waiting `wait`.
    pub fn new(wait: Duration) -> Self {
        Admitted { wait }
    }
}

/// An admitted caller gave its slot back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finished {
    /// How long the slot was held.
    pub held: Duration,
    /// How the guarded work ended.
    pub outcome: Outcome,
}

impl Finished {
    /// A release after holding the slot for `held`.
    pub fn new(held: Duration, outcome: Outcome) -> Self {
        Finished { held, outcome }
    }
}

/// How guarded work ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The work completed successfully.
    Ok,
    /// The work completed with an error.
    Error,
    /// The work panicked.
    Panic,
    /// The caller dropped the work before it completed.
    Cancelled,
}

impl Outcome {
    /// All outcomes, for registering one metric series each.
    pub const ALL: [Outcome; 4] = [
        Outcome::Ok,
        Outcome::Error,
        Outcome::Panic,
        Outcome::Cancelled,
    ];

    /// The label value used in metrics and spans: `ok`, `error`, `panic`, `cancelled`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Panic => "panic",
            Outcome::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
