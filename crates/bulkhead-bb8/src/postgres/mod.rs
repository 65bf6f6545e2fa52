//! PostgreSQL over tokio-postgres (without TLS): pools in compartments, and a read/write
//! pair.
//!
//! [`DatabaseBulkhead`] is the guide's read/write split: two pools, each in its own
//! compartment, so a flood of slow reads waits for (or is refused) read connections
//! while writes keep theirs. Connections are opened on demand through bb8-postgres,
//! each attempt bounded by `connect_timeout`; a connection the client knows is closed
//! is dropped when it comes back, so a restarted server costs at most one failed query
//! per connection.
//!
//! The configuration ([`PostgresConfig`]) and the pair are `bulkhead-pool`'s, the same
//! for every pool backend; this module builds them over bb8-postgres.

mod database;
mod manager;

pub use bb8_postgres;
pub use bulkhead_pool::postgres::{
    redact_url, PgConnect, PgPoolConfig, PostgresConfig, PostgresPool, Recycling,
    MAX_CONNECT_TIMEOUT, MAX_STATEMENT_TIMEOUT,
};
pub use database::{DatabaseBuilder, DatabaseBulkhead, PgClient, PgError, PgPool};
pub use manager::{PgConnectError, PgManager};
pub use tokio_postgres;
