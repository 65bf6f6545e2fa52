//! The start-up error, and how a failed API call is answered.

use std::error::Error as StdError;
use std::fmt;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bulkhead::tower::rejection_response;
use bulkhead::Rejected;
use serde_json::json;

use crate::downstream::DownstreamError;

/// Why the service could not start: a message naming what was wrong and where (the
/// variable, the file and key, the compartment), with the underlying error kept as
/// its source.
#[derive(Debug)]
pub struct Error {
    message: String,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl Error {
    /// An error with `message` and no source.
    pub fn new(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            source: None,
        }
    }

    /// An error with `message`, caused by `source` (whose text is appended).
    pub fn with_source(
        message: impl Into<String>,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Error {
            message: message.into(),
            source: Some(source.into()),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// Why an API call failed, and the answer it gets.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// A compartment refused the call: `503` with `Retry-After`.
    Rejected(Rejected),
    /// The simulated downstream failed: `502`.
    Downstream(DownstreamError),
    /// The database failed: `502`.
    Database(String),
}

impl From<Rejected> for ApiError {
    fn from(rejected: Rejected) -> Self {
        ApiError::Rejected(rejected)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Rejected(rejected) => {
                tracing::debug!(compartment = rejected.compartment(), "{rejected}");
                rejection_response::<axum::body::Body>(&rejected)
            }
            ApiError::Downstream(error) => (
                StatusCode::BAD_GATEWAY,
                Json(json!({ "error": error.to_string(), "service": error.service.as_str() })),
            )
                .into_response(),
            ApiError::Database(message) => {
                tracing::warn!("database call failed: {message}");
                (
                    StatusCode::BAD_GATEWAY,
                    Json(json!({ "error": message, "service": "database" })),
                )
                    .into_response()
            }
        }
    }
}
