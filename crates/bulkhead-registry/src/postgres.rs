//! The built-in PostgreSQL kinds: a read/write pair of pools, over deadpool
//! (`postgres`) or bb8 (`bb8-postgres`).

use std::sync::Arc;

use bulkhead_core::{Compartment, CompartmentInfo, ConfigError};
use bulkhead_pool::postgres::{redact_url, DatabaseBulkhead, PostgresConfig, PostgresPool};

use crate::{BoxError, BuildContext};

/// Builds the pair called after the compartment, each pool with the registry's
/// observer for its own name (`<name>.read`, `<name>.write`). Opens no connection.
fn build<P: PostgresPool>(
    cx: &BuildContext,
    config: &PostgresConfig,
) -> Result<DatabaseBulkhead<P>, BoxError> {
    let mut builder = DatabaseBulkhead::<P>::builder(cx.info().name()).config(config.clone());
    let (read, write) = builder.pool_names();
    if let Some(observer) = cx.observer_for(&CompartmentInfo::new(read, P::POOL_KIND)) {
        builder = builder.read_observer(observer);
    }
    if let Some(observer) = cx.observer_for(&CompartmentInfo::new(write, P::POOL_KIND)) {
        builder = builder.write_observer(observer);
    }
    Ok(builder.build()?)
}

/// Telemetry follows each pool on its own: the read pool filling up while the write
/// pool has room is what the pair is for.
fn parts<P: PostgresPool>(db: &DatabaseBulkhead<P>) -> Option<Vec<Arc<dyn Compartment>>> {
    Some(vec![
        Arc::new(db.read_pool().clone()),
        Arc::new(db.write_pool().clone()),
    ])
}

fn problems(config: &PostgresConfig) -> Vec<ConfigError> {
    config.problems()
}

/// Passwords are hidden, and so is the password in a URL.
fn show(key: &str, value: String) -> String {
    let Some(field) = key.rsplit('.').next() else {
        return value;
    };
    let quoted = value.len() >= 2 && value.starts_with('"') && value.ends_with('"');
    match field {
        "password" if quoted => "\"<hidden>\"".to_owned(),
        "url" if quoted => format!("{:?}", redact_url(&value[1..value.len() - 1])),
        _ => value,
    }
}

/// Builds a PostgreSQL read/write pair over deadpool
/// ([`bulkhead_deadpool::postgres::DatabaseBulkhead`]) from `kind = "postgres"`
/// sections.
///
/// The keys are those of [`PostgresConfig`]: `connection.*` (the server, shared by
/// both pools), and per pool `read.*` and `write.*` (`max_size`, `max_wait`,
/// `max_waiting`, `connect_timeout`, `statement_timeout`, `recycling`, `read_only`,
/// `retry_after`, and a `connection` of its own). Building opens no connection, so a
/// configuration can be loaded, and checked by `bulkhead check`, with the server down.
///
/// On reload, each pool's `max_wait`, `max_waiting` and `retry_after` change live, and
/// so does its `max_size` (deadpool resizes the pool without taking connections from
/// their holders); connection parameters, `connect_timeout`, `statement_timeout`,
/// `recycling` and `read_only` are reported as needing a restart. Passwords, also in
/// URLs, are hidden wherever values are shown.
///
/// The pair is looked up as `bulkhead_deadpool::postgres::DatabaseBulkhead`; as a
/// compartment its stats are both pools' added up. Telemetry attached to the registry
/// follows each pool on its own, as compartments `<name>.read` and `<name>.write` of
/// kind `deadpool`. Registered by
/// [`Registry::builder`](crate::Registry::builder) when the `postgres` and `deadpool`
/// features are on.
#[cfg(feature = "deadpool")]
#[derive(Debug, Clone, Copy, Default)]
pub struct PostgresPlugin;

#[cfg(feature = "deadpool")]
impl crate::Plugin for PostgresPlugin {
    type Config = PostgresConfig;
    type Compartment = bulkhead_deadpool::postgres::DatabaseBulkhead;

    fn kind(&self) -> &'static str {
        <bulkhead_deadpool::postgres::PgPool as PostgresPool>::PAIR_KIND
    }

    fn problems(&self, config: &PostgresConfig) -> Vec<ConfigError> {
        problems(config)
    }

    fn build(
        &self,
        cx: &BuildContext,
        config: &PostgresConfig,
    ) -> Result<Self::Compartment, BoxError> {
        build(cx, config)
    }

    fn reconfigure(
        &self,
        db: &Self::Compartment,
        _running: &PostgresConfig,
        wanted: &PostgresConfig,
    ) -> Result<PostgresConfig, BoxError> {
        Ok(db.reconfigure(wanted)?)
    }

    fn show(&self, key: &str, value: String) -> String {
        show(key, value)
    }

    fn parts(&self, db: &Self::Compartment) -> Option<Vec<Arc<dyn Compartment>>> {
        parts(db)
    }
}

/// Builds a PostgreSQL read/write pair over bb8
/// ([`bulkhead_bb8::postgres::DatabaseBulkhead`]) from `kind = "bb8-postgres"`
/// sections.
///
/// The keys are those of the `postgres` kind ([`PostgresConfig`]). Building opens no
/// connection, but must happen inside a tokio runtime (bb8 starts its reaper tasks):
/// outside one, the build fails with an error saying so. On reload, each pool's
/// `max_wait`, `max_waiting` and `retry_after` change live; `max_size` needs a restart
/// (bb8 cannot resize a pool), like the connection parameters, `connect_timeout`,
/// `statement_timeout`, `recycling` and `read_only`.
///
/// Registered by [`Registry::builder`](crate::Registry::builder) when the `postgres`
/// and `bb8` features are on.
#[cfg(feature = "bb8")]
#[derive(Debug, Clone, Copy, Default)]
pub struct Bb8PostgresPlugin;

#[cfg(feature = "bb8")]
impl crate::Plugin for Bb8PostgresPlugin {
    type Config = PostgresConfig;
    type Compartment = bulkhead_bb8::postgres::DatabaseBulkhead;

    fn kind(&self) -> &'static str {
        <bulkhead_bb8::postgres::PgPool as PostgresPool>::PAIR_KIND
    }

    fn problems(&self, config: &PostgresConfig) -> Vec<ConfigError> {
        problems(config)
    }

    fn build(
        &self,
        cx: &BuildContext,
        config: &PostgresConfig,
    ) -> Result<Self::Compartment, BoxError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(format!(
                "kind `{}` must be built inside a tokio runtime (bb8 starts its reaper tasks \
                 when a pool is built)",
                self.kind()
            )
            .into());
        }
        build(cx, config)
    }

    fn reconfigure(
        &self,
        db: &Self::Compartment,
        _running: &PostgresConfig,
        wanted: &PostgresConfig,
    ) -> Result<PostgresConfig, BoxError> {
        Ok(db.reconfigure(wanted)?)
    }

    fn show(&self, key: &str, value: String) -> String {
        show(key, value)
    }

    fn parts(&self, db: &Self::Compartment) -> Option<Vec<Arc<dyn Compartment>>> {
        parts(db)
    }
}

#[cfg(test)]
mod tests {
    use super::show;

    #[test]
    fn passwords_are_hidden_wherever_values_are_shown() {
        let shown = |key: &str, value: &str| show(key, value.to_owned());
        assert_eq!(shown("connection.password", "\"hunter2\""), "\"<hidden>\"");
        assert_eq!(shown("read.connection.password", "none"), "none");
        assert_eq!(
            shown("connection.url", "\"postgres://app:s3cret@db/app\""),
            "\"postgres://app:<hidden>@db/app\""
        );
        assert_eq!(shown("read.max_size", "16"), "16");
    }
}
