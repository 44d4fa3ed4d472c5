//! [`MySqlStore`]: the store on MySQL 8 and MariaDB 10.5+.

crate::backend::sql_backend!(
    MySqlStore,
    sqlx::MySql,
    Dialect::MySql,
    sqlx::migrate!("migrations/mysql"),
    "MySQL or MariaDB"
);
