//! The parts of a pool adapter's API that do not depend on the pool library, written
//! once for every adapter.
//!
//! An adapter's compartment keeps a [`PoolGate`](crate::PoolGate) in a field called
//! `gate`; its builder keeps `config: PoolConfig` and `observer: Option<SharedObserver>`.
//! These macros then write what answers through them, with the same names and docs in
//! every adapter.

/// Writes the builder methods every pool adapter shares: `config`, `max_wait`,
/// `max_waiting`, `retry_after` and `observer`.
///
/// Expand it inside the builder's `impl` block; the builder needs the fields
/// `config: PoolConfig` and `observer: Option<SharedObserver>`.
#[macro_export]
macro_rules! pool_builder_methods {
    () => {
        /// Replaces the whole admission configuration.
        pub fn config(mut self, config: $crate::PoolConfig) -> Self {
            self.config = config;
            self
        }

        /// Sets `max_wait`.
        pub fn max_wait(mut self, wait: ::std::time::Duration) -> Self {
            self.config.max_wait = wait;
            self
        }

        /// Sets `max_waiting`.
        pub fn max_waiting(mut self, n: usize) -> Self {
            self.config.max_waiting = n;
            self
        }

        /// Sets `retry_after`.
        pub fn retry_after(
            mut self,
            retry_after: ::std::option::Option<::std::time::Duration>,
        ) -> Self {
            self.config.retry_after = retry_after;
            self
        }

        /// Attaches an observer that receives every event of the compartment.
        pub fn observer(mut self, observer: $crate::SharedObserver) -> Self {
            self.observer = ::std::option::Option::Some(observer);
            self
        }
    };
}

/// Writes the methods every pool compartment shares, answered by its `gate`: `name`,
/// `stats`, `reconfigure`, `config` and `is_closed`.
///
/// Expand it inside the compartment's `impl` block. The compartment writes its own
/// `close` (what closing does to the pool depends on the library).
#[macro_export]
macro_rules! pool_compartment_methods {
    () => {
        /// The compartment's name.
        pub fn name(&self) -> &str {
            self.gate.name()
        }

        /// A snapshot of the compartment's admission: slots (the pool's `max_size`),
        /// slots in use, checkouts waiting, and counters.
        pub fn stats(&self) -> $crate::Stats {
            self.gate.stats()
        }

        /// Applies new waiting rules to the running compartment. Checkouts already
        /// waiting keep the wait they started with. Nothing changes when the
        /// configuration is invalid.
        pub fn reconfigure(
            &self,
            config: &$crate::PoolConfig,
        ) -> ::std::result::Result<(), $crate::ConfigError> {
            self.gate.reconfigure(config)
        }

        /// The admission configuration in force.
        pub fn config(&self) -> $crate::PoolConfig {
            self.gate.config()
        }

        /// Whether `close` was called.
        pub fn is_closed(&self) -> bool {
            self.gate.is_closed()
        }
    };
}

/// Implements [`Compartment`](crate::Compartment) and `Debug` for a pool compartment
/// over its `gate`: `impl_pool_compartment!([M: Manager + 'static] MyBulkhead<M>)`.
///
/// The compartment needs the inherent methods `close` and `status` beside those of
/// [`pool_compartment_methods!`]; its status needs the fields `size` and `idle`, which
/// it reports as the kind's figures ([`names::POOL_SIZE`](crate::names::POOL_SIZE),
/// [`names::POOL_IDLE`](crate::names::POOL_IDLE)), and is shown by `Debug`.
#[macro_export]
macro_rules! impl_pool_compartment {
    ([$($generics:tt)*] $name:ident $(<$($param:ident),*>)?) => {
        impl<$($generics)*> $crate::Compartment for $name $(<$($param),*>)? {
            fn info(&self) -> &$crate::CompartmentInfo {
                self.gate.info()
            }

            fn stats(&self) -> $crate::Stats {
                self.gate.stats()
            }

            fn close(&self) {
                $name::close(self)
            }

            fn is_closed(&self) -> bool {
                self.gate.is_closed()
            }

            /// The pool's size and idle connections, from its status.
            fn report_figures(&self, report: &mut dyn FnMut(&'static str, f64)) {
                let status = self.status();
                report($crate::names::POOL_SIZE, status.size as f64);
                report($crate::names::POOL_IDLE, status.idle as f64);
            }
        }

        impl<$($generics)*> ::std::fmt::Debug for $name $(<$($param),*>)? {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(::std::stringify!($name))
                    .field("name", &self.name())
                    .field("config", &self.config())
                    .field("stats", &self.stats())
                    .field("status", &self.status())
                    .finish()
            }
        }
    };
}
