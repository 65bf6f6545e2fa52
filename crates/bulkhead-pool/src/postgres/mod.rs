//! PostgreSQL pools in compartments, whatever the pool backend: their configuration
//! and the read/write pair.
//!
//! [`PostgresConfig`] is a read pool and a write pool ([`PgPoolConfig`]), sharing a
//! server ([`PgConnect`]) unless a pool names its own. [`DatabaseBulkhead`] is the
//! guide's read/write split over any backend implementing [`PostgresPool`]:
//! `bulkhead-deadpool` and `bulkhead-bb8` implement it for their `postgres::PgPool`
//! and name the pair `postgres::DatabaseBulkhead`.

mod config;
mod database;

pub use config::{
    redact_url, PgConnect, PgPoolConfig, PostgresConfig, Recycling, MAX_CONNECT_TIMEOUT,
    MAX_STATEMENT_TIMEOUT,
};
pub use database::{DatabaseBuilder, DatabaseBulkhead, PostgresPool};
pub use tokio_postgres;
