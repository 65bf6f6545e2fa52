//! The built-in `runtime` kind.

use bulkhead_core::ConfigError;
use bulkhead_runtime::{RuntimeBulkhead, RuntimeConfig};

use crate::{BoxError, BuildContext, Plugin};

/// Builds [`RuntimeBulkhead`]s (dedicated tokio runtimes) from `kind = "runtime"`
/// sections.
///
/// The queue settings (`queue_capacity`, `max_wait`, `max_waiting`, `retry_after`)
/// change live on reload through [`RuntimeBulkhead::reconfigure`]; the thread settings
/// (`worker_threads`, `max_blocking_threads`, `thread_name`, `thread_stack_size`,
/// `enable_io`) and `metrics_interval` need a new runtime and are reported by the
/// reload as needing a restart.
///
/// Registered by [`Registry::builder`](crate::Registry::builder) when the `runtime`
/// feature is on (default).
#[derive(Debug, Clone, Copy, Default)]
pub struct RuntimePlugin;

impl Plugin for RuntimePlugin {
    type Config = RuntimeConfig;
    type Compartment = RuntimeBulkhead;

    fn kind(&self) -> &'static str {
        bulkhead_runtime::KIND
    }

    fn problems(&self, config: &RuntimeConfig) -> Vec<ConfigError> {
        config.problems()
    }

    fn build(
        &self,
        cx: &BuildContext,
        config: &RuntimeConfig,
    ) -> Result<RuntimeBulkhead, BoxError> {
        let mut builder = RuntimeBulkhead::builder(cx.name()).config(config.clone());
        if let Some(observer) = cx.observer() {
            builder = builder.observer(observer);
        }
        Ok(builder.build()?)
    }

    fn reconfigure(
        &self,
        runtime: &RuntimeBulkhead,
        _running: &RuntimeConfig,
        wanted: &RuntimeConfig,
    ) -> Result<RuntimeConfig, BoxError> {
        // Keys that need a new runtime are left as they are; the registry compares the
        // configuration now in force with the wanted one and reports them.
        runtime.reconfigure(wanted)?;
        Ok(runtime.config())
    }
}
