#![doc = include_str!("../README.md")]

pub use sqlx;

mod backend;
mod error;
mod query;

#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "postgres")]
pub mod postgres;

#[cfg(feature = "mysql")]
pub use mysql::MySqlStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;

/// The id of the row an `INSERT` added, where the engine reports it in the result (MySQL);
/// PostgreSQL reads it with `RETURNING` instead.
#[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
trait LastId {
    fn last_id(&self) -> Option<i64>;
}

#[cfg(feature = "postgres")]
impl LastId for sqlx::postgres::PgQueryResult {
    fn last_id(&self) -> Option<i64> {
        None
    }
}

#[cfg(feature = "mysql")]
impl LastId for sqlx::mysql::MySqlQueryResult {
    fn last_id(&self) -> Option<i64> {
        i64::try_from(self.last_insert_id()).ok()
    }
}
