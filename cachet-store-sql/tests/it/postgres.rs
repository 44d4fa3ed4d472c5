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

/// The server needs no more than to read and write rows: migrations run as the owner, the
/// store then works as a role granted only SELECT, INSERT, UPDATE and DELETE (the grants
/// the README documents), and that role cannot change the schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_as_a_role_that_only_reads_and_writes_rows() {
    use cachet_core::enums::{ComponentStatus, IncidentStatus, Role, Visibility};
    use cachet_core::markdown;
    use cachet_core::secret::{NewToken, PasswordHash};
    use cachet_core::store::{
        ComponentFilter, ListQuery, Message, NewApiToken, NewComponent, NewIncident, NewUser,
    };
    use cachet_core::validate::Email;
    use cachet_core::Store;

    let Some(url) = server_url("CACHET_TEST_POSTGRES_URL", &SKIPPED) else {
        return;
    };
    let name = unique_name();
    let (admin, owner_pool) = pool_in_new_schema(&url, &name).await;
    PostgresStore::new(owner_pool.clone())
        .migrate()
        .await
        .expect("the owner migrates");
    owner_pool.close().await;
    let role = format!("{name}_rw");
    for grant in [
        format!("CREATE ROLE {role} LOGIN"),
        format!("GRANT USAGE ON SCHEMA {name} TO {role}"),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {name} TO {role}"),
        format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {name} TO {role}"),
    ] {
        sqlx_exec(&admin, &grant).await;
    }
    let options = PgConnectOptions::from_str(&url)
        .expect("a PostgreSQL URL")
        .username(&role)
        .options([("search_path", name.as_str())]);
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await
        .expect("the row-only role connects");
    let store = PostgresStore::new(pool.clone());

    let outcome = async {
        let nt = NewToken::generate();
        let (admin_user, _) = store
            .bootstrap_admin(
                NewUser {
                    username: "admin".into(),
                    email: Email::parse("admin@example.com").expect("valid"),
                    password_hash: PasswordHash::from_phc(
                        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$x".into(),
                    ),
                    role: Role::Admin,
                },
                NewApiToken {
                    user_id: cachet_core::ids::UserId(0),
                    name: "setup".into(),
                    prefix: nt.prefix,
                    hash: nt.hash,
                    abilities: None,
                    expires_at: None,
                },
            )
            .await
            .expect("setup as the row-only role")
            .expect("first setup");
        assert_eq!(admin_user.role, Role::Admin);
        let component = store
            .create_component(NewComponent {
                name: "API".into(),
                description: String::new(),
                link: String::new(),
                status: ComponentStatus::Operational,
                order: 0,
                group_id: None,
                enabled: true,
                meta: None,
                tags: Vec::new(),
            })
            .await
            .expect("insert as the row-only role");
        let message = markdown::render("Down").expect("renders");
        store
            .create_incident(NewIncident {
                notice: None,
                user_id: None,
                component_id: Some(component.id),
                impact: Some(ComponentStatus::MajorOutage),
                name: "outage".into(),
                status: IncidentStatus::Investigating,
                visible: Visibility::Public,
                stickied: false,
                message: Message {
                    source: "Down".into(),
                    html: message,
                },
                occurred_at: chrono::Utc::now(),
                meta: Default::default(),
            })
            .await
            .expect("a two-row write as the row-only role");
        let listed = store
            .list_components(&ListQuery::new(1, 20, ComponentFilter::default()))
            .await
            .expect("read as the row-only role");
        assert_eq!(listed.items[0].status, ComponentStatus::MajorOutage);
        let ddl = cachet_store_sql::sqlx::query("CREATE TABLE intruder (id BIGINT)")
            .execute(&pool)
            .await;
        let refused = ddl.expect_err("the row-only role may not create tables");
        let code = refused
            .as_database_error()
            .and_then(|e| e.code().map(|c| c.into_owned()));
        assert_eq!(
            code.as_deref(),
            Some("42501"),
            "insufficient_privilege: {refused}"
        );
    }
    .await;
    pool.close().await;
    sqlx_exec(&admin, &format!("DROP SCHEMA {name} CASCADE")).await;
    sqlx_exec(&admin, &format!("DROP OWNED BY {role}")).await;
    sqlx_exec(&admin, &format!("DROP ROLE {role}")).await;
    outcome
}

/// A connection the server ends in the middle of a write is `Unavailable` (503), not a
/// backend error (500): the operation may simply be tried again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_ended_by_the_server_is_unavailable() {
    use cachet_core::store::{ComponentChanges, NewComponent};
    use cachet_core::{Store, StoreError};

    let Some((store, schema)) = store().await else {
        return;
    };
    let (pool, admin) = (schema.pool.clone(), schema.admin.clone());
    let outcome = async move {
        let c = store
            .create_component(NewComponent {
                name: "API".into(),
                description: String::new(),
                link: String::new(),
                status: cachet_core::enums::ComponentStatus::Operational,
                order: 0,
                group_id: None,
                enabled: true,
                meta: None,
                tags: Vec::new(),
            })
            .await
            .expect("component");
        // Another session holds the row, so the store's update waits on it.
        let mut blocker = pool.begin().await.expect("begin");
        cachet_store_sql::sqlx::query("SELECT 1 FROM components WHERE id = $1 FOR UPDATE")
            .bind(c.id.get())
            .execute(&mut *blocker)
            .await
            .expect("lock the row");
        let waiting = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .update_component(
                        c.id,
                        ComponentChanges {
                            name: Some("renamed".into()),
                            ..Default::default()
                        },
                        cachet_core::enums::StatusSource::Api,
                    )
                    .await
            })
        };
        // Find the waiting session and end it, as an administrator or a failover would.
        let mut ended = false;
        for _ in 0..100 {
            let killed: Vec<bool> = cachet_store_sql::sqlx::query_scalar(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE wait_event_type = 'Lock' AND datname = current_database() \
                 AND pid <> pg_backend_pid()",
            )
            .fetch_all(&admin)
            .await
            .expect("pg_terminate_backend");
            if killed.contains(&true) {
                ended = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(ended, "the update never waited on the lock");
        let result = waiting.await.expect("task");
        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "{result:?}"
        );
        blocker.rollback().await.expect("rollback");
    };
    let outcome = tokio::spawn(outcome).await;
    teardown(schema).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// A failure in the middle of a write that changes a status (the history insert, made to
/// fail by a trigger) leaves neither the change nor the rest of the write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_history_insert_undoes_the_whole_write() {
    let Some((store, schema)) = store().await else {
        return;
    };
    for sql in [
        "CREATE FUNCTION fail_history() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$",
        "CREATE TRIGGER fail_history BEFORE INSERT ON component_status_changes \
         FOR EACH ROW EXECUTE FUNCTION fail_history()",
    ] {
        sqlx_exec(&schema.pool, sql).await;
    }
    let outcome = tokio::spawn(
        cachet_core::testing::failed_history_write_undoes_the_change(std::sync::Arc::new(store)),
    )
    .await;
    teardown(schema).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
