//! cachet-store-sql against real servers: the whole conformance suite on PostgreSQL and on
//! MySQL/MariaDB, each case in a schema or database of its own that is dropped afterwards.
//!
//! The servers come from `CACHET_TEST_POSTGRES_URL` and `CACHET_TEST_MYSQL_URL`. Without
//! them the suite prints one "skipped" line per engine and passes; `CACHET_REQUIRE_DB=1`
//! (set by `.ci/run`) makes a missing server a failure instead.

mod support;

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
