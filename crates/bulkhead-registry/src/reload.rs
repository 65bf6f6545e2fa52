//! What a reload changed.

use std::fmt;

/// What [`Registry::reload`](crate::Registry::reload) did.
///
/// Displays one line per change, or `no changes`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReloadReport {
    /// Compartments built because they are new, sorted by name.
    pub added: Vec<String>,
    /// Compartments removed from the registry and closed, sorted by name.
    pub removed: Vec<String>,
    /// Settings applied to running compartments.
    pub applied: Vec<Change>,
    /// Changes that were not applied: they take a restart (a change of `kind`, or a
    /// setting the kind cannot change live). The compartment keeps running as it was.
    pub restart_required: Vec<Change>,
    /// Compartments whose plugin failed to apply a change; they keep running as they
    /// were.
    pub failed: Vec<ReloadFailure>,
}

impl ReloadReport {
    /// Whether the reload changed nothing and found nothing pending.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.applied.is_empty()
            && self.restart_required.is_empty()
            && self.failed.is_empty()
    }

    /// Whether some change waits for a restart.
    pub fn needs_restart(&self) -> bool {
        !self.restart_required.is_empty()
    }
}

impl fmt::Display for ReloadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("no changes");
        }
        let mut lines = Vec::new();
        lines.extend(self.added.iter().map(|name| format!("added `{name}`")));
        lines.extend(
            self.removed
                .iter()
                .map(|name| format!("removed and closed `{name}`")),
        );
        lines.extend(self.applied.iter().map(|c| format!("applied {c}")));
        lines.extend(
            self.restart_required
                .iter()
                .map(|c| format!("needs a restart: {c}")),
        );
        lines.extend(self.failed.iter().map(|fail| fail.to_string()));
        f.write_str(&lines.join("\n"))
    }
}

/// One setting of one compartment, from one value to another.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Change {
    /// The compartment.
    pub compartment: String,
    /// The key, such as `max_concurrent` (or `kind`).
    pub key: String,
    /// The value before, in TOML form (`none` when unset).
    pub from: String,
    /// The value after, in TOML form.
    pub to: String,
}

impl Change {
    pub(crate) fn new(
        compartment: &str,
        key: impl Into<String>,
        from: impl Into<String>,
        to: impl Into<String>,
    ) -> Self {
        Change {
            compartment: compartment.to_owned(),
            key: key.into(),
            from: from.into(),
            to: to.into(),
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "compartment `{}`: `{}` {} -> {}",
            self.compartment, self.key, self.from, self.to
        )
    }
}

/// A plugin could not apply a change to a running compartment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReloadFailure {
    /// The compartment.
    pub compartment: String,
    /// What the plugin reported.
    pub message: String,
}

impl ReloadFailure {
    pub(crate) fn new(compartment: &str, message: impl Into<String>) -> Self {
        ReloadFailure {
            compartment: compartment.to_owned(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ReloadFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "compartment `{}`: could not apply the change: {}",
            self.compartment, self.message
        )
    }
}
