//! [`PostgresStore`]: the store on PostgreSQL.

crate::backend::sql_backend!(
    PostgresStore,
    sqlx::Postgres,
    Dialect::Postgres,
    sqlx::migrate!("migrations/postgres"),
    "PostgreSQL"
);
