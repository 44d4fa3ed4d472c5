//! `PostgresStore` and `MySqlStore` (as `Arc<dyn Store>`) against the raw driver (sqlx on
//! the same kind of pool) running the same statements in the same transactions: insert a
//! component with two tags, and list a page of components with the total and their tags.
//!
//! Each side has its own schema or database, migrated by the store, seeded with the same
//! rows. The baseline's SQL is copied from `cachet-store-sql/src/backend.rs`
//! (`create_component`, `set_tags`, `get_component`, `list_components`, `fill_tags`,
//! `fetch_page`); keep it in step when those change, or the ratio stops meaning "overhead of
//! the store layer".
//!
//! The servers come from `CACHET_TEST_POSTGRES_URL` and `CACHET_TEST_MYSQL_URL`; an engine
//! whose variable is unset is skipped with a line saying so.

use std::hint::black_box;
use std::str::FromStr;
use std::sync::Arc;

use cachet_benches::ratio::{Report, Settings};
use cachet_core::enums::ComponentStatus;
use cachet_core::ids::GroupId;
use cachet_core::model::Tag;
use cachet_core::store::{ComponentFilter, ListQuery, NewComponent};
use cachet_core::Store;
use cachet_store_sql::sqlx::{self, Row as _};
use cachet_store_sql::{MySqlStore, PostgresStore};
use tokio::runtime::Runtime;

/// Rows in each database of the list benches.
const SEEDED: usize = 1_000;

const COLUMNS: &str = "c.id, c.name, c.description, c.link, c.status, c.position, c.group_id, c.enabled, c.meta, c.created_at, c.updated_at";

fn new_component(i: usize) -> NewComponent {
    let tag = |k: usize| Tag {
        slug: format!("tag-{k}"),
        name: format!("Tag {k}"),
    };
    NewComponent {
        name: format!("Component {i}"),
        description: "Serves the public API behind the load balancer".into(),
        link: "https://example.com/components/api".into(),
        status: ComponentStatus::Operational,
        order: i64::try_from(i % 50).unwrap_or(0),
        group_id: Some(GroupId(1 + i64::try_from(i % 5).unwrap_or(0))),
        enabled: true,
        meta: Some(serde_json::json!({"team": "core", "tier": i % 3})),
        tags: vec![tag(i % 10), tag((i + 3) % 10)],
    }
}

/// What a raw row is read into: the same fields the store reads.
#[allow(dead_code)]
struct RawComponent {
    id: i64,
    name: String,
    description: String,
    link: String,
    status: i64,
    order: i64,
    group_id: Option<i64>,
    enabled: bool,
    meta: Option<serde_json::Value>,
    created_at: i64,
    updated_at: i64,
    tags: Vec<(String, String)>,
}

/// The statements of one engine, with its placeholders and text decoding.
macro_rules! raw_engine {
    ($name:ident, $db:ty, $pool:ty, $ph:expr, $text:expr, $last_id:expr) => {
        mod $name {
            use super::*;

            type Conn = <$db as sqlx::Database>::Connection;
            type DbRow = <$db as sqlx::Database>::Row;

            fn text(r: &DbRow, i: usize) -> String {
                $text(r, i)
            }

            fn opt_text(r: &DbRow, i: usize) -> Option<String> {
                r.try_get::<Option<Vec<u8>>, _>(i)
                    .ok()
                    .flatten()
                    .map(|b| String::from_utf8(b).expect("utf-8"))
                    .or_else(|| r.try_get::<Option<String>, _>(i).ok().flatten())
            }

            /// `sql` with `?` numbered as the engine wants.
            fn sql(s: &str) -> String {
                $ph(s)
            }

            fn row(r: &DbRow) -> RawComponent {
                RawComponent {
                    id: r.get(0),
                    name: text(r, 1),
                    description: text(r, 2),
                    link: text(r, 3),
                    status: r.get(4),
                    order: r.get(5),
                    group_id: r.get(6),
                    enabled: r.get(7),
                    meta: opt_text(r, 8).map(|m| serde_json::from_str(&m).expect("json")),
                    created_at: r.get(9),
                    updated_at: r.get(10),
                    tags: Vec::new(),
                }
            }

            async fn fill_tags(c: &mut Conn, items: &mut [RawComponent]) {
                if items.is_empty() {
                    return;
                }
                let ph = vec!["?"; items.len()].join(", ");
                let q = sql(&format!(
                    "SELECT ct.component_id, t.slug, t.name FROM component_tags ct \
                     JOIN tags t ON t.id = ct.tag_id WHERE (ct.component_id IN ({ph})) ORDER BY ct.component_id, t.slug"
                ));
                let mut query = sqlx::query(&q);
                for item in items.iter() {
                    query = query.bind(item.id);
                }
                let rows = query.fetch_all(&mut *c).await.expect("tags");
                let mut by_id: std::collections::HashMap<i64, Vec<(String, String)>> =
                    std::collections::HashMap::new();
                for r in &rows {
                    by_id
                        .entry(r.get::<i64, _>(0))
                        .or_default()
                        .push((text(r, 1), text(r, 2)));
                }
                for item in items {
                    item.tags = by_id.remove(&item.id).unwrap_or_default();
                }
            }

            pub(super) async fn list(pool: &$pool, page: i64, per_page: i64) -> (Vec<RawComponent>, i64) {
                let mut tx = pool.begin().await.expect("begin");
                let total: i64 = sqlx::query(&sql(
                    "SELECT COUNT(*) FROM components c WHERE (c.deleted_at IS NULL)",
                ))
                .fetch_one(&mut *tx)
                .await
                .expect("count")
                .get(0);
                let q = sql(&format!(
                    "SELECT {COLUMNS} FROM components c WHERE (c.deleted_at IS NULL) ORDER BY c.id ASC LIMIT ? OFFSET ?"
                ));
                let rows = sqlx::query(&q)
                    .bind(per_page)
                    .bind((page - 1) * per_page)
                    .fetch_all(&mut *tx)
                    .await
                    .expect("page");
                let mut items: Vec<RawComponent> = rows.iter().map(row).collect();
                fill_tags(&mut tx, &mut items).await;
                tx.commit().await.expect("commit");
                (items, total)
            }

            pub(super) async fn insert(pool: &$pool, new: &NewComponent, returning: bool) -> RawComponent {
                let mut tx = pool.begin().await.expect("begin");
                let at = chrono::Utc::now().timestamp();
                let insert_sql = "INSERT INTO components (name, description, link, status, position, group_id, \
                     enabled, meta, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
                let insert_sql = if returning {
                    sql(&format!("{insert_sql} RETURNING id"))
                } else {
                    sql(insert_sql)
                };
                let q = sqlx::query(&insert_sql)
                    .bind(new.name.as_str())
                    .bind(new.description.as_str())
                    .bind(new.link.as_str())
                    .bind(new.status.as_i64())
                    .bind(new.order)
                    .bind(new.group_id.map(GroupId::get))
                    .bind(new.enabled)
                    .bind(new.meta.as_ref().map(ToString::to_string))
                    .bind(at)
                    .bind(at);
                let id: i64 = if returning {
                    q.fetch_one(&mut *tx).await.expect("insert").get(0)
                } else {
                    let done = q.execute(&mut *tx).await.expect("insert");
                    $last_id(&done)
                };
                sqlx::query(&sql("DELETE FROM component_tags WHERE component_id = ?"))
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .expect("clear tags");
                let (create, link) = if returning {
                    (
                        "INSERT INTO tags (name, slug) VALUES (?, ?) ON CONFLICT (slug) DO NOTHING",
                        "INSERT INTO component_tags (component_id, tag_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    )
                } else {
                    (
                        "INSERT INTO tags (name, slug) VALUES (?, ?) ON DUPLICATE KEY UPDATE slug = slug",
                        "INSERT INTO component_tags (component_id, tag_id) VALUES (?, ?) ON DUPLICATE KEY UPDATE tag_id = tag_id",
                    )
                };
                for tag in &new.tags {
                    sqlx::query(&sql(create))
                        .bind(tag.name.as_str())
                        .bind(tag.slug.as_str())
                        .execute(&mut *tx)
                        .await
                        .expect("tag");
                    let tag_id: i64 = sqlx::query(&sql("SELECT id FROM tags WHERE slug = ? FOR UPDATE"))
                        .bind(tag.slug.as_str())
                        .fetch_one(&mut *tx)
                        .await
                        .expect("tag id")
                        .get(0);
                    sqlx::query(&sql(link))
                        .bind(id)
                        .bind(tag_id)
                        .execute(&mut *tx)
                        .await
                        .expect("link");
                }
                let q = sql(&format!(
                    "SELECT {COLUMNS} FROM components c WHERE c.id = ? AND c.deleted_at IS NULL"
                ));
                let r = sqlx::query(&q)
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await
                    .expect("read back");
                let mut one = [row(&r)];
                fill_tags(&mut tx, &mut one).await;
                tx.commit().await.expect("commit");
                let [c] = one;
                c
            }
        }
    };
}

fn numbered(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut n = 0;
    for ch in s.chars() {
        if ch == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(ch);
        }
    }
    out
}

raw_engine!(
    pg,
    sqlx::Postgres,
    sqlx::PgPool,
    numbered,
    |r: &sqlx::postgres::PgRow, i: usize| r.get::<String, _>(i),
    |_: &sqlx::postgres::PgQueryResult| 0i64
);
raw_engine!(
    my,
    sqlx::MySql,
    sqlx::MySqlPool,
    |s: &str| s.to_owned(),
    |r: &sqlx::mysql::MySqlRow, i: usize| String::from_utf8(r.get::<Vec<u8>, _>(i)).expect("utf-8"),
    |done: &sqlx::mysql::MySqlQueryResult| i64::try_from(done.last_insert_id()).unwrap_or(0)
);

/// The baseline's list: page and page size in, rows read out.
type RawList = Box<dyn Fn(&Runtime, i64, i64) -> usize>;

/// The baseline's insert: the new row's id.
type RawInsert = Box<dyn Fn(&Runtime, &NewComponent) -> i64>;

/// The two sides of one engine, each on its own schema or database.
struct Engine {
    label: &'static str,
    ours: Arc<dyn Store>,
    list_raw: RawList,
    insert_raw: RawInsert,
    cleanup: Box<dyn FnOnce(&Runtime)>,
}

fn unique(label: &str) -> String {
    format!("cachet_bench_{label}_{:08x}", rand::random::<u32>())
}

fn postgres(rt: &Runtime, url: &str) -> Engine {
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    let admin = rt
        .block_on(PgPoolOptions::new().max_connections(1).connect(url))
        .expect("CACHET_TEST_POSTGRES_URL connects");
    let ours_schema = unique("pg_ours");
    let raw_schema = unique("pg_raw");
    let pool_in = |schema: &str| {
        rt.block_on(sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&admin))
            .expect("schema");
        let options = PgConnectOptions::from_str(url)
            .expect("url")
            .options([("search_path", schema)]);
        let pool = rt
            .block_on(
                PgPoolOptions::new()
                    .max_connections(4)
                    .connect_with(options),
            )
            .expect("pool");
        rt.block_on(PostgresStore::new(pool.clone()).migrate())
            .expect("migrate");
        pool
    };
    let ours_pool = pool_in(&ours_schema);
    let raw_pool = pool_in(&raw_schema);
    let ours: Arc<dyn Store> = Arc::new(PostgresStore::new(ours_pool.clone()));
    let raw_list = raw_pool.clone();
    let raw_insert = raw_pool.clone();
    Engine {
        label: "postgres",
        ours,
        list_raw: Box::new(move |rt, page, per| {
            rt.block_on(pg::list(&raw_list, page, per)).0.len()
        }),
        insert_raw: Box::new(move |rt, new| rt.block_on(pg::insert(&raw_insert, new, true)).id),
        cleanup: Box::new(move |rt| {
            rt.block_on(ours_pool.close());
            rt.block_on(raw_pool.close());
            for schema in [ours_schema, raw_schema] {
                let _ = rt.block_on(
                    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(&admin),
                );
            }
        }),
    }
}

fn mysql(rt: &Runtime, url: &str) -> Engine {
    use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
    let admin = rt
        .block_on(MySqlPoolOptions::new().max_connections(1).connect(url))
        .expect("CACHET_TEST_MYSQL_URL connects");
    let ours_db = unique("my_ours");
    let raw_db = unique("my_raw");
    let pool_in = |db: &str| {
        rt.block_on(sqlx::query(&format!("CREATE DATABASE {db}")).execute(&admin))
            .expect("database");
        let options = MySqlConnectOptions::from_str(url)
            .expect("url")
            .database(db);
        let pool = rt
            .block_on(
                MySqlPoolOptions::new()
                    .max_connections(4)
                    .connect_with(options),
            )
            .expect("pool");
        rt.block_on(MySqlStore::new(pool.clone()).migrate())
            .expect("migrate");
        pool
    };
    let ours_pool = pool_in(&ours_db);
    let raw_pool = pool_in(&raw_db);
    let ours: Arc<dyn Store> = Arc::new(MySqlStore::new(ours_pool.clone()));
    let raw_list = raw_pool.clone();
    let raw_insert = raw_pool.clone();
    Engine {
        label: "mysql",
        ours,
        list_raw: Box::new(move |rt, page, per| {
            rt.block_on(my::list(&raw_list, page, per)).0.len()
        }),
        insert_raw: Box::new(move |rt, new| rt.block_on(my::insert(&raw_insert, new, false)).id),
        cleanup: Box::new(move |rt| {
            rt.block_on(ours_pool.close());
            rt.block_on(raw_pool.close());
            for db in [ours_db, raw_db] {
                let _ = rt.block_on(sqlx::query(&format!("DROP DATABASE {db}")).execute(&admin));
            }
        }),
    }
}

fn run(rt: &Runtime, report: &mut Report, engine: Engine) {
    let label = engine.label;
    let seed = if report.settings().measure {
        SEEDED
    } else {
        25
    };
    for i in 0..seed {
        rt.block_on(engine.ours.create_component(new_component(i)))
            .expect("seed ours");
        (engine.insert_raw)(rt, &new_component(i));
    }
    // Same rows on both sides before anything is timed.
    let ours_page = rt
        .block_on(
            engine
                .ours
                .list_components(&ListQuery::new(1, 20, ComponentFilter::default())),
        )
        .expect("list ours");
    assert_eq!(ours_page.items.len(), (engine.list_raw)(rt, 1, 20));
    for (name, page, per_page) in [
        ("list_page1_20", 1u32, 20u32),
        ("list_page1_100", 1, 100),
        ("list_page5_100", 5, 100),
    ] {
        let q = ListQuery::new(page, per_page, ComponentFilter::default());
        report.compare(
            &format!("{label}_store/{name}"),
            || {
                black_box(rt.block_on(engine.ours.list_components(&q)).expect("list"));
            },
            || {
                black_box((engine.list_raw)(rt, i64::from(page), i64::from(per_page)));
            },
        );
    }
    let next = std::cell::Cell::new(seed);
    report.compare(
        &format!("{label}_store/insert_component"),
        || {
            next.set(next.get() + 1);
            black_box(
                rt.block_on(engine.ours.create_component(new_component(next.get())))
                    .expect("insert"),
            );
        },
        || {
            next.set(next.get() + 1);
            black_box((engine.insert_raw)(rt, &new_component(next.get())));
        },
    );
    (engine.cleanup)(rt);
}

fn main() {
    let mut report = Report::new(Settings::from_env());
    let rt = Runtime::new().expect("tokio runtime");
    let mut any = false;
    match std::env::var("CACHET_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => {
            any = true;
            let engine = postgres(&rt, &url);
            run(&rt, &mut report, engine);
        }
        _ => println!("sql_stores: skipped PostgreSQL (CACHET_TEST_POSTGRES_URL is not set)"),
    }
    match std::env::var("CACHET_TEST_MYSQL_URL") {
        Ok(url) if !url.is_empty() => {
            any = true;
            let engine = mysql(&rt, &url);
            run(&rt, &mut report, engine);
        }
        _ => println!("sql_stores: skipped MySQL (CACHET_TEST_MYSQL_URL is not set)"),
    }
    if any {
        report.print_summary("sql_stores: ours vs the raw driver in this run");
    }
}
