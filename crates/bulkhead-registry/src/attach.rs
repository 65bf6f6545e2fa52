//! What follows the compartments a registry builds: telemetry above all.

use std::sync::Arc;

use bulkhead_core::{Compartment, CompartmentInfo, SharedObserver};

/// Something that follows every compartment a [`Registry`](crate::Registry) builds,
/// now and on each reload: it may hand each compartment an observer when it is built,
/// and it learns when a compartment is added and when one is removed.
///
/// Attach one with [`RegistryBuilder::attach`](crate::RegistryBuilder::attach). With
/// the `metrics` feature, `bulkhead_metrics::BulkheadMetrics` is one (each compartment
/// gets its metrics observer and is published from the moment it is built); with the
/// `otlp` feature, `bulkhead_otlp::OtelObserver` is one (a span per call, instruments
/// reading each compartment's stats).
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// use bulkhead_registry::{Attachment, Compartment, Environment, Registry};
///
/// /// Keeps the names of the compartments that exist.
/// #[derive(Clone, Default)]
/// struct Names(Arc<Mutex<Vec<String>>>);
///
/// impl Attachment for Names {
///     fn added(&self, compartment: Arc<dyn Compartment>) {
///         self.0.lock().unwrap().push(compartment.name().to_owned());
///     }
///
///     fn removed(&self, name: &str) {
///         self.0.lock().unwrap().retain(|n| n != name);
///     }
/// }
///
/// # #[cfg(feature = "semaphore")]
/// # {
/// # let dir = std::env::temp_dir().join(format!("bulkhead-attach-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # let path = dir.join("bulkhead.toml");
/// std::fs::write(&path, r#"
///     [compartments.orders]
///     kind = "semaphore"
///     max_concurrent = 10
/// "#)?;
///
/// let names = Names::default();
/// let registry = Registry::builder()
///     .file(&path)
///     .environment(Environment::from_vars::<_, &str, &str>([]))
///     .attach(names.clone())
///     .build()?;
/// assert_eq!(*names.0.lock().unwrap(), ["orders"]);
/// # drop(registry);
/// # std::fs::remove_dir_all(&dir)?;
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Attachment: Send + Sync + 'static {
    /// An observer for the compartment about to be built (it gets every attachment's
    /// observer, and those of the observer factories), or `None`.
    fn observer(&self, info: &CompartmentInfo) -> Option<SharedObserver> {
        let _ = info;
        None
    }

    /// The compartment was built and is in the registry: at [`build`] and when a
    /// reload adds it.
    ///
    /// [`build`]: crate::RegistryBuilder::build
    fn added(&self, compartment: Arc<dyn Compartment>) {
        let _ = compartment;
    }

    /// A reload removed the compartment called `name` from the registry and closed
    /// it.
    fn removed(&self, name: &str) {
        let _ = name;
    }
}

#[cfg(feature = "metrics")]
impl Attachment for bulkhead_metrics::BulkheadMetrics {
    fn observer(&self, info: &CompartmentInfo) -> Option<SharedObserver> {
        Some(bulkhead_metrics::BulkheadMetrics::observer(
            self,
            info.name_arc(),
        ))
    }

    fn added(&self, compartment: Arc<dyn Compartment>) {
        // A compartment registered by hand under the same name keeps its series.
        if let Err(e) = self.register_dyn(compartment) {
            tracing::warn!(
                bulkhead = %e.name(),
                "a compartment of this name is already published; the registry's is not"
            );
        }
    }

    fn removed(&self, name: &str) {
        self.unregister(name);
    }
}

#[cfg(feature = "otlp")]
impl Attachment for bulkhead_otlp::OtelObserver {
    fn observer(&self, _info: &CompartmentInfo) -> Option<SharedObserver> {
        Some(self.shared())
    }

    fn added(&self, compartment: Arc<dyn Compartment>) {
        self.register_dyn(compartment);
    }

    fn removed(&self, name: &str) {
        self.unregister(name);
    }
}
