//! Errors for invalid compartment configuration.

use std::error::Error;
use std::fmt;

/// A configuration value was refused.
///
/// Names the compartment (when known), the key, and what is wrong with the value, so a
/// bad limit is reported when the configuration is loaded, not discovered under load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    compartment: Option<String>,
    key: String,
    message: String,
}

impl ConfigError {
    /// `key` has a bad value; `message` says why, in lowercase, without a final period.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            compartment: None,
            key: key.into(),
            message: message.into(),
        }
    }

    /// Names the compartment the key belongs to.
    pub fn in_compartment(mut self, compartment: impl Into<String>) -> Self {
        self.compartment = Some(compartment.into());
        self
    }

    /// The compartment, when known.
    pub fn compartment(&self) -> Option<&str> {
        self.compartment.as_deref()
    }

    /// The configuration key, such as `max_concurrent`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// What is wrong with the value.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.compartment {
            Some(c) => write!(f, "compartment `{c}`: `{}` {}", self.key, self.message),
            None => write!(f, "`{}` {}", self.key, self.message),
        }
    }
}

impl Error for ConfigError {}
