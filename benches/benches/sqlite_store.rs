//! `SqliteStore` (as `Arc<dyn Store>`, called through a Tokio runtime, the work done on the
//! blocking pool) against the same statements run by hand on a plain rusqlite connection on
//! the calling thread: insert a component with its tags, and list a page of components with
//! the total and the tags.
//!
//! Both sides use their own database file created by `SqliteStore::migrate` (same schema),
//! with the same pragmas (WAL, `synchronous=NORMAL`, foreign keys, statement cache) and the
//! same seeded rows. The baseline's SQL is copied from `cachet-store-sqlite/src/components.rs`
//! (`create`, `set_tags`, `get`, `list`, `fill_tags`) and `query.rs` (`fetch_page`); keep it in
//! step when those change, or the ratio stops meaning "overhead of the store layer".
//!
//! Two ratios per case:
//! - `sqlite_store/<case>`: ours against the statements run inline on the calling thread,
//!   which no async server may do (it would stall every other request on that worker);
//! - `sqlite_store_layer/<case>`: ours against the same statements handed to Tokio's
//!   blocking pool exactly as the store hands its work (`spawn_blocking`, a mutex around
//!   the connection), so the ratio is the cost of the store layer alone.
//!
//! The difference between the two is one thread hand-off and back per call; on a virtual
//! machine whose idle cores sleep it costs tens of microseconds, whoever does the hand-off.

use std::collections::HashMap;
use std::hint::black_box;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use cachet_benches::ratio::{Report, Settings};
use cachet_core::enums::ComponentStatus;
use cachet_core::ids::{ComponentId, GroupId};
use cachet_core::model::{Component, Tag};
use cachet_core::store::{ComponentFilter, ListQuery, NewComponent, Page};
use cachet_core::Store;
use cachet_store_sqlite::SqliteStore;
use chrono::{DateTime, Utc};
use criterion::{BenchmarkId, Criterion};
use rusqlite::{params, Connection, Row, TransactionBehavior};
use tokio::runtime::Runtime;

/// Rows in each database of the list benches.
const SEEDED: usize = 1_000;

/// Distinct tags; each component gets two of them.
const TAG_POOL: usize = 10;

const COLUMNS: &str = r#"c.id, c.name, c.description, c.link, c.status, c."order", c.group_id, c.enabled, c.meta, c.created_at, c.updated_at"#;

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
        tags: vec![tag(i % TAG_POOL), tag((i + 3) % TAG_POOL)],
    }
}

// ------------------------------------------------------------------------------ baseline

/// The pragmas `SqliteStore::open` sets (WAL itself is persistent in the file).
fn configure(conn: &Connection) {
    conn.busy_timeout(Duration::from_millis(5000))
        .expect("busy_timeout");
    conn.pragma_update(None, "foreign_keys", true)
        .expect("foreign_keys");
    conn.pragma_update(None, "synchronous", "NORMAL")
        .expect("synchronous");
    conn.set_prepared_statement_cache_capacity(64);
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .expect("journal_mode");
    assert!(mode.eq_ignore_ascii_case("wal"), "journal mode {mode}");
}

fn row(r: &Row<'_>) -> rusqlite::Result<Component> {
    let ts = |i: usize| -> rusqlite::Result<DateTime<Utc>> {
        let secs: i64 = r.get(i)?;
        DateTime::from_timestamp(secs, 0).ok_or(rusqlite::Error::IntegralValueOutOfRange(i, secs))
    };
    let status: i64 = r.get(4)?;
    let meta: Option<String> = r.get(8)?;
    Ok(Component {
        id: ComponentId(r.get(0)?),
        name: r.get(1)?,
        description: r.get(2)?,
        link: r.get(3)?,
        status: ComponentStatus::try_from(status)
            .map_err(|_| rusqlite::Error::IntegralValueOutOfRange(4, status))?,
        order: r.get(5)?,
        group_id: r.get::<_, Option<i64>>(6)?.map(GroupId),
        enabled: r.get(7)?,
        meta: meta.and_then(|m| serde_json::from_str(&m).ok()),
        tags: Vec::new(),
        created_at: ts(9)?,
        updated_at: ts(10)?,
    })
}

fn fill_tags(conn: &Connection, items: &mut [Component]) -> rusqlite::Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    let ids = format!(
        "[{}]",
        items
            .iter()
            .map(|c| c.id.get().to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let mut stmt = conn.prepare_cached(
        "SELECT ct.component_id, t.slug, t.name FROM component_tags ct JOIN tags t ON t.id = ct.tag_id \
         WHERE ct.component_id IN (SELECT value FROM json_each(?1)) ORDER BY ct.component_id, t.slug",
    )?;
    let mut by_id: HashMap<i64, Vec<Tag>> = HashMap::new();
    let rows = stmt.query_map([ids], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            Tag {
                slug: r.get(1)?,
                name: r.get(2)?,
            },
        ))
    })?;
    for r in rows {
        let (id, tag) = r?;
        by_id.entry(id).or_default().push(tag);
    }
    for c in items {
        c.tags = by_id.remove(&c.id.get()).unwrap_or_default();
    }
    Ok(())
}

/// `components::create` by hand: insert, replace tags, read back, in one IMMEDIATE transaction.
fn raw_insert(conn: &mut Connection, new: &NewComponent) -> rusqlite::Result<Component> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let at = Utc::now().timestamp();
    tx.prepare_cached(
        r#"INSERT INTO components (name, description, link, status, "order", group_id, enabled, meta, created_at, updated_at)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)"#,
    )?
    .execute(params![
        new.name,
        new.description,
        new.link,
        new.status.as_i64(),
        new.order,
        new.group_id.map(GroupId::get),
        new.enabled,
        new.meta.as_ref().map(ToString::to_string),
        at,
    ])?;
    let id = tx.last_insert_rowid();
    tx.prepare_cached("DELETE FROM component_tags WHERE component_id = ?1")?
        .execute([id])?;
    {
        let mut create = tx.prepare_cached(
            "INSERT INTO tags (name, slug) VALUES (?1, ?2) ON CONFLICT (slug) DO NOTHING",
        )?;
        let mut find = tx.prepare_cached("SELECT id FROM tags WHERE slug = ?1")?;
        let mut link = tx.prepare_cached(
            "INSERT OR IGNORE INTO component_tags (component_id, tag_id) VALUES (?1, ?2)",
        )?;
        for tag in &new.tags {
            create.execute(params![tag.name, tag.slug])?;
            let tag_id: i64 = find.query_row([&tag.slug], |r| r.get(0))?;
            link.execute([id, tag_id])?;
        }
    }
    let c = tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM components c WHERE c.id = ?1 AND c.deleted_at IS NULL"
        ))?
        .query_row([id], row)?;
    let mut one = [c];
    fill_tags(&tx, &mut one)?;
    tx.commit()?;
    let [c] = one;
    Ok(c)
}

/// `components::list` by hand for the unfiltered default order: count, one page, the tags,
/// in one deferred transaction.
fn raw_list(conn: &mut Connection, page: u32, per_page: u32) -> rusqlite::Result<Page<Component>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
    let total: i64 = tx
        .prepare_cached("SELECT COUNT(*) FROM components c WHERE (c.deleted_at IS NULL)")?
        .query_row([], |r| r.get(0))?;
    let offset = i64::from(page - 1) * i64::from(per_page);
    let mut items = tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM components c WHERE (c.deleted_at IS NULL) ORDER BY c.id ASC LIMIT ? OFFSET ?"
        ))?
        .query_map([i64::from(per_page), offset], row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    fill_tags(&tx, &mut items)?;
    tx.commit()?;
    Ok(Page {
        items,
        total: u64::try_from(total).unwrap_or(0),
    })
}

// ------------------------------------------------------------------------------ setup

struct Fixture {
    rt: Runtime,
    store: Arc<dyn Store>,
    raw: Connection,
    /// The same statements again, on their own database, run on Tokio's blocking pool the
    /// way the store runs them: the second baseline, which isolates the store layer's cost
    /// from the cost of handing the work to another thread.
    pooled: Arc<Mutex<Connection>>,
    next: usize,
    _dir: tempfile::TempDir,
}

impl Fixture {
    /// Two fresh databases (ours, raw) with `rows` identical components each.
    fn new(rows: usize) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let rt = Runtime::new().expect("tokio runtime");
        let store: Arc<dyn Store> = Arc::new(
            rt.block_on(SqliteStore::open_and_migrate(dir.path().join("store.db")))
                .expect("store opens"),
        );
        let raw = raw_connection(&rt, &dir.path().join("raw.db"));
        let pooled = Arc::new(Mutex::new(raw_connection(
            &rt,
            &dir.path().join("pooled.db"),
        )));
        let mut f = Fixture {
            rt,
            store,
            raw,
            pooled,
            next: 0,
            _dir: dir,
        };
        for _ in 0..rows {
            f.insert_ours();
            f.insert_raw();
            f.insert_pooled();
        }
        f
    }

    fn insert_ours(&mut self) -> Component {
        self.next += 1;
        let new = new_component(self.next);
        self.rt
            .block_on(self.store.create_component(new))
            .expect("store insert")
    }

    fn insert_raw(&mut self) -> Component {
        let new = new_component(self.next);
        raw_insert(&mut self.raw, &new).expect("raw insert")
    }

    /// Runs `f` on the pooled connection through `spawn_blocking`, awaited like a store call.
    fn on_pool<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> T {
        let conn = Arc::clone(&self.pooled);
        self.rt
            .block_on(self.rt.spawn_blocking(move || {
                let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
                f(&mut conn)
            }))
            .expect("blocking task")
            .expect("pooled statement")
    }

    fn insert_pooled(&mut self) -> Component {
        let new = new_component(self.next);
        self.on_pool(move |conn| raw_insert(conn, &new))
    }

    fn list_pooled(&self, page: u32, per_page: u32) -> Page<Component> {
        self.on_pool(move |conn| raw_list(conn, page, per_page))
    }

    fn list_ours(&self, page: u32, per_page: u32) -> Page<Component> {
        let q = ListQuery::new(page, per_page, ComponentFilter::default());
        self.rt
            .block_on(self.store.list_components(&q))
            .expect("store list")
    }

    fn list_raw(&mut self, page: u32, per_page: u32) -> Page<Component> {
        raw_list(&mut self.raw, page, per_page).expect("raw list")
    }
}

/// A plain connection on a database that `SqliteStore::migrate` created (same schema), the
/// store itself closed again.
fn raw_connection(rt: &Runtime, path: &Path) -> Connection {
    let store = rt
        .block_on(SqliteStore::open_and_migrate(path))
        .expect("schema for the baseline");
    drop(store);
    let conn = Connection::open(path).expect("raw connection");
    configure(&conn);
    conn
}

/// The two sides must return the same thing, or the comparison is meaningless.
fn check_same(f: &mut Fixture) {
    let (a, b) = (f.list_ours(2, 20), f.list_raw(2, 20));
    assert_eq!(a.total, b.total, "same number of rows");
    let strip = |p: Page<Component>| -> Vec<(i64, String, Vec<Tag>, Option<serde_json::Value>)> {
        p.items
            .into_iter()
            .map(|c| (c.id.get(), c.name, c.tags, c.meta))
            .collect()
    };
    let c = f.list_pooled(2, 20);
    assert_eq!(
        b.total, c.total,
        "same number of rows on the pooled baseline"
    );
    let (b, c) = (strip(b), strip(c));
    assert_eq!(strip(a), b, "same page");
    assert_eq!(b, c, "same page on the pooled baseline");
}

const PAGES: [(&str, u32, u32); 3] = [
    ("list_page1_20", 1, 20),
    ("list_page1_100", 1, 100),
    ("list_page5_100", 5, 100),
];

/// `lists`: seeded databases that are only read (so that their row count, which `COUNT(*)`
/// scans, stays the same on both sides); `inserts`: databases that only grow.
fn criterion_groups(c: &mut Criterion, lists: &mut Fixture, inserts: &mut Fixture) {
    let mut g = c.benchmark_group("sqlite_store");
    for (name, page, per_page) in PAGES {
        g.bench_function(BenchmarkId::new("ours", name), |b| {
            b.iter(|| black_box(lists.list_ours(page, per_page)))
        });
        g.bench_function(BenchmarkId::new("baseline", name), |b| {
            b.iter(|| black_box(lists.list_raw(page, per_page)))
        });
    }
    g.bench_function(BenchmarkId::new("ours", "insert_component"), |b| {
        b.iter(|| black_box(inserts.insert_ours()))
    });
    g.bench_function(BenchmarkId::new("baseline", "insert_component"), |b| {
        b.iter(|| black_box(inserts.insert_raw()))
    });
    g.finish();
}

fn ratios(report: &mut Report, lists: &mut Fixture, inserts: &mut Fixture) {
    // Both closures of a pair need the fixture; they run strictly one after the other.
    let cell = std::cell::RefCell::new(lists);
    for (name, page, per_page) in PAGES {
        report.compare(
            &format!("sqlite_store/{name}"),
            || {
                black_box(cell.borrow().list_ours(page, per_page));
            },
            || {
                black_box(cell.borrow_mut().list_raw(page, per_page));
            },
        );
        report.compare_with_note(
            &format!("sqlite_store_layer/{name}"),
            "baseline on the blocking pool too",
            || {
                black_box(cell.borrow().list_ours(page, per_page));
            },
            || {
                black_box(cell.borrow().list_pooled(page, per_page));
            },
        );
    }
    let cell = std::cell::RefCell::new(inserts);
    report.compare(
        "sqlite_store/insert_component",
        || {
            black_box(cell.borrow_mut().insert_ours());
        },
        || {
            black_box(cell.borrow_mut().insert_raw());
        },
    );
    report.compare_with_note(
        "sqlite_store_layer/insert_component",
        "baseline on the blocking pool too",
        || {
            black_box(cell.borrow_mut().insert_ours());
        },
        || {
            black_box(cell.borrow_mut().insert_pooled());
        },
    );
}

fn main() {
    let mut lists = Fixture::new(SEEDED);
    check_same(&mut lists);
    let mut inserts = Fixture::new(0);
    let mut c = Criterion::default().configure_from_args();
    criterion_groups(&mut c, &mut lists, &mut inserts);
    c.final_summary();
    let mut report = Report::new(Settings::from_env());
    ratios(&mut report, &mut lists, &mut inserts);
    report.print_summary("sqlite_store: ours vs raw rusqlite in this run");
}
