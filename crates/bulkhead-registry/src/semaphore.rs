//! The built-in `semaphore` kind.

use bulkhead_core::ConfigError;
use bulkhead_semaphore::{SemaphoreBulkhead, SemaphoreConfig};

use crate::{BoxError, BuildContext, Plugin};

/// Builds [`SemaphoreBulkhead`]s from `kind = "semaphore"` sections.
///
/// Every key of [`SemaphoreConfig`] changes live on reload (through
/// [`SemaphoreBulkhead::reconfigure`]): capacity without blocking or cancelling
/// in-flight calls, waits and queue bound for callers that arrive afterwards.
///
/// Registered by [`Registry::builder`](crate::Registry::builder) when the `semaphore`
/// feature is on (default).
#[derive(Debug, Clone, Copy, Default)]
pub struct SemaphorePlugin;

impl Plugin for SemaphorePlugin {
    type Config = SemaphoreConfig;
    type Compartment = SemaphoreBulkhead;

    fn kind(&self) -> &'static str {
        bulkhead_semaphore::KIND
    }

    fn problems(&self, config: &SemaphoreConfig) -> Vec<ConfigError> {
        config.problems()
    }

    fn build(
        &self,
        cx: &BuildContext,
        config: &SemaphoreConfig,
    ) -> Result<SemaphoreBulkhead, BoxError> {
        let mut builder = SemaphoreBulkhead::builder(cx.name()).config(config.clone());
        if let Some(observer) = cx.observer() {
            builder = builder.observer(observer);
        }
        Ok(builder.build()?)
    }

    fn reconfigure(
        &self,
        semaphore: &SemaphoreBulkhead,
        _running: &SemaphoreConfig,
        wanted: &SemaphoreConfig,
    ) -> Result<SemaphoreConfig, BoxError> {
        semaphore.reconfigure(wanted)?;
        Ok(semaphore.config())
    }
}
