//! The conformance suite on MySQL/MariaDB, one database per case.

use std::str::FromStr;
use std::sync::Once;

use cachet_store_sql::sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use cachet_store_sql::MySqlStore;

use crate::support::{server_url, unique_name};

static SKIPPED: Once = Once::new();

/// What a case leaves behind: its database, dropped by [`teardown`].
pub(crate) struct Database {
    admin: MySqlPool,
    pool: MySqlPool,
    name: String,
}

async fn exec(pool: &MySqlPool, sql: &str) {
    cachet_store_sql::sqlx::query(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn store() -> Option<(MySqlStore, Database)> {
    let url = server_url("CACHET_TEST_MYSQL_URL", &SKIPPED)?;
    let admin = MySqlPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .expect("CACHET_TEST_MYSQL_URL accepts connections");
    let name = unique_name();
    exec(&admin, &format!("CREATE DATABASE {name}")).await;
    let options = MySqlConnectOptions::from_str(&url)
        .expect("a MySQL URL")
        .database(&name);
    let pool = MySqlPoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .expect("a pool on the new database");
    let store = MySqlStore::new(pool.clone());
    store.migrate().await.expect("migrations apply");
    Some((store, Database { admin, pool, name }))
}

async fn teardown(db: Database) {
    db.pool.close().await;
    exec(&db.admin, &format!("DROP DATABASE {}", db.name)).await;
}

cachet_core::conformance_tests!(store, teardown = teardown);
