//! The conformance suite on PostgreSQL, one schema per case.

use std::str::FromStr;
use std::sync::Once;

use cachet_store_sql::sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use cachet_store_sql::PostgresStore;

use crate::support::{server_url, unique_name};

static SKIPPED: Once = Once::new();

/// What a case leaves behind: its schema, dropped by [`teardown`].
pub(crate) struct Schema {
    admin: PgPool,
    pool: PgPool,
    name: String,
}

/// A pool whose connections work in a fresh schema `name` (through `search_path`).
pub(crate) async fn pool_in_new_schema(url: &str, name: &str) -> (PgPool, PgPool) {
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .expect("CACHET_TEST_POSTGRES_URL accepts connections");
    sqlx_exec(&admin, &format!("CREATE SCHEMA {name}")).await;
    let options = PgConnectOptions::from_str(url)
        .expect("a PostgreSQL URL")
        .options([("search_path", name)]);
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .expect("a pool in the new schema");
    (admin, pool)
}

pub(crate) async fn sqlx_exec(pool: &PgPool, sql: &str) {
    cachet_store_sql::sqlx::query(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn store() -> Option<(PostgresStore, Schema)> {
    let url = server_url("CACHET_TEST_POSTGRES_URL", &SKIPPED)?;
    let name = unique_name();
    let (admin, pool) = pool_in_new_schema(&url, &name).await;
    let store = PostgresStore::new(pool.clone());
    store.migrate().await.expect("migrations apply");
    Some((store, Schema { admin, pool, name }))
}

async fn teardown(schema: Schema) {
    schema.pool.close().await;
    sqlx_exec(
        &schema.admin,
        &format!("DROP SCHEMA {} CASCADE", schema.name),
    )
    .await;
}

cachet_core::conformance_tests!(store, teardown = teardown);
