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

/// Several processes migrating one fresh database at once take turns: every one succeeds
/// and the schema is whole. (sqlx's own MySQL lock asks for an infinite wait, which MariaDB
/// refuses without taking the lock: the store takes its own.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_migrations_take_turns() {
    use cachet_core::Store;
    let Some(url) = server_url("CACHET_TEST_MYSQL_URL", &SKIPPED) else {
        return;
    };
    let admin = MySqlPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .expect("CACHET_TEST_MYSQL_URL accepts connections");
    for trial in 0..4 {
        let name = unique_name();
        exec(&admin, &format!("CREATE DATABASE {name}")).await;
        let options = MySqlConnectOptions::from_str(&url)
            .expect("a MySQL URL")
            .database(&name);
        let mut tasks = Vec::new();
        for _ in 0..3 {
            let options = options.clone();
            tasks.push(tokio::spawn(async move {
                let pool = MySqlPoolOptions::new()
                    .max_connections(2)
                    .connect_with(options)
                    .await
                    .expect("a pool");
                let store = MySqlStore::new(pool);
                let migrated = store.migrate().await.map_err(|e| e.to_string());
                (migrated, store)
            }));
        }
        let mut stores = Vec::new();
        for task in tasks {
            let (migrated, store) = task.await.expect("task");
            assert_eq!(migrated, Ok(()), "trial {trial}");
            stores.push(store);
        }
        // The schema works from every pool.
        for store in &stores {
            store.load_settings().await.expect("settings table exists");
            store.pool().close().await;
        }
        exec(&admin, &format!("DROP DATABASE {name}")).await;
    }
}

/// A failure in the middle of a write that changes a status (the history insert, made to
/// fail by a trigger) leaves neither the change nor the rest of the write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_history_insert_undoes_the_whole_write() {
    let Some((store, db)) = store().await else {
        return;
    };
    exec(
        &db.pool,
        "CREATE TRIGGER fail_history BEFORE INSERT ON component_status_changes FOR EACH ROW \
         SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected failure'",
    )
    .await;
    let outcome = tokio::spawn(
        cachet_core::testing::failed_history_write_undoes_the_change(std::sync::Arc::new(store)),
    )
    .await;
    teardown(db).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
