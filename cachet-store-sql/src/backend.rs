//! The one implementation of the `Store` contract on sqlx, written once and expanded for
//! each engine by [`sql_backend!`] (sqlx code is concrete per database; a macro keeps one
//! copy of every statement and every rule instead of two).
//!
//! Every method is one transaction. Writes that hit a deadlock or a serialization failure
//! are run again from the start (a few times, with a short random pause), so concurrent
//! writers see clean results instead of driver errors. Rows whose state a write depends on
//! are locked first (`SELECT ... FOR UPDATE`): the component an incident sets, the incident
//! an update moves, the metric a point is counted into, the setup lock row.

/// Expands to a store type `$store` for database `$db` (`sqlx::Postgres`, `sqlx::MySql`),
/// with SQL in dialect `$dialect` and migrations from `$migrations` (a `sqlx::migrate!`).
macro_rules! sql_backend {
    ($store:ident, $db:ty, $dialect:expr, $migrator:expr, $engine:literal) => {
        use std::collections::{BTreeMap, HashMap};
        use std::future::Future;
        use std::pin::Pin;

        use async_trait::async_trait;
        use cachet_core::chart::Window;
        use cachet_core::enums::{
            ComponentStatus, IncidentStatus, Role, ScheduleStatus, StatusSource, UnknownValue,
        };
        use cachet_core::error::Entity;
        use cachet_core::ids::*;
        use cachet_core::maintenance::{self, Announced, Hold};
        use cachet_core::markdown::SafeHtml;
        use cachet_core::model::*;
        use cachet_core::policy::Abilities;
        use cachet_core::secret::{PasswordHash, TokenHash};
        use cachet_core::store::*;
        use cachet_core::validate::Email;
        use cachet_core::{Store, StoreError};
        use chrono::{DateTime, Utc};
        use sqlx::{Database, Row as _};

        use crate::error::{classify, conflict_means, not_found, Corrupt, Fail, Res};
        use crate::query::{order_by, placeholders, Arg, Dialect, PageSpec, Set, Where};
        use cachet_core::notify::{
            Audience, Channel, Claim, Delivery, DeliveryState, EventKind, Notice, NoticeRecord,
            Outcome, Target,
        };
        use cachet_core::webhook::{
            events_text, parse_events_text, NewWebhook, Webhook, WebhookPatch,
        };
        use crate::LastId as _;

        type Db = $db;
        type Conn = <Db as Database>::Connection;
        type DbRow = <Db as Database>::Row;
        type Pool = sqlx::Pool<Db>;
        type BoxFut<'c, T> = Pin<Box<dyn Future<Output = Res<T>> + Send + 'c>>;

        const D: Dialect = $dialect;

        /// Attempts of a write that keeps meeting deadlocks or serialization failures.
        const WRITE_ATTEMPTS: u32 = 8;
        /// The migration lock of one MySQL database, waited for up to 10 minutes.
        const MYSQL_MIGRATE_LOCK: &str =
            "SELECT GET_LOCK(CONCAT('cachet_rs_migrate:', DATABASE()), 600)";
        const MYSQL_MIGRATE_UNLOCK: &str =
            "SELECT RELEASE_LOCK(CONCAT('cachet_rs_migrate:', DATABASE()))";

        #[doc = concat!("A [`cachet_core::Store`] on ", $engine, " through a sqlx pool.")]
        ///
        /// Construct it from a pool with [`Self::new`] and bring the schema up to date with
        /// [`Self::migrate`] (as a role that may create tables; the server itself only needs
        /// to read and write rows, see the crate documentation). Cloning is cheap and shares
        /// the pool.
        #[derive(Debug, Clone)]
        pub struct $store {
            pool: Pool,
        }

        impl $store {
            /// A store on `pool`. Nothing is checked or created until the first call.
            pub fn new(pool: Pool) -> Self {
                $store { pool }
            }

            /// The pool, for anything this crate does not do.
            pub fn pool(&self) -> &Pool {
                &self.pool
            }

            /// Applies the migrations embedded in this crate that the database lacks.
            ///
            /// Idempotent and safe to run from several processes at once: they take turns
            /// on a database-wide lock (PostgreSQL: sqlx's advisory lock; MySQL/MariaDB: a
            /// named `GET_LOCK` of this crate, since MariaDB refuses the infinite wait that
            /// sqlx's own MySQL lock asks for and then takes no lock at all).
            ///
            /// # Errors
            /// When the database refuses (e.g. the role may not create tables), or was
            /// migrated by a newer version of this crate.
            pub async fn migrate(&self) -> Result<(), StoreError> {
                let backend = |e: sqlx::migrate::MigrateError| StoreError::Backend(Box::new(e));
                let mut migrator = $migrator;
                let mut conn = self.pool.acquire().await.map_err(classify)?;
                match D {
                    Dialect::Postgres => migrator.run_direct(&mut *conn).await.map_err(backend),
                    Dialect::MySql => {
                        let got: Option<i64> = sqlx::query_scalar(MYSQL_MIGRATE_LOCK)
                            .fetch_one(&mut *conn)
                            .await
                            .map_err(classify)?;
                        if got != Some(1) {
                            return Err(StoreError::Unavailable(
                                "another migration held the lock for 10 minutes".into(),
                            ));
                        }
                        migrator.set_locking(false);
                        let outcome = migrator.run_direct(&mut *conn).await;
                        let _ = sqlx::query(MYSQL_MIGRATE_UNLOCK).execute(&mut *conn).await;
                        outcome.map_err(backend)
                    }
                }
            }

            /// Runs `op` in a transaction and commits; again from the start when it meets
            /// a deadlock or serialization failure.
            async fn write<T, F>(&self, op: F) -> Result<T, StoreError>
            where
                T: Send,
                F: for<'c> Fn(&'c mut Conn) -> BoxFut<'c, T> + Send + Sync,
            {
                let mut attempt = 1;
                loop {
                    let mut tx = self.pool.begin().await.map_err(classify)?;
                    let failure = match op(&mut tx).await {
                        Ok(value) => match tx.commit().await {
                            Ok(()) => return Ok(value),
                            Err(e) => Fail::Db(e),
                        },
                        Err(failure) => {
                            // Dropping the transaction rolls it back; say so explicitly to
                            // free the connection's locks before the next attempt.
                            let _ = tx.rollback().await;
                            failure
                        }
                    };
                    if !failure.is_transient() || attempt >= WRITE_ATTEMPTS {
                        return Err(failure.into_store());
                    }
                    attempt += 1;
                    pause(attempt).await;
                }
            }

            /// Runs `op` in a read transaction: one consistent snapshot on both engines.
            async fn read<T, F>(&self, op: F) -> Result<T, StoreError>
            where
                T: Send,
                F: for<'c> FnOnce(&'c mut Conn) -> BoxFut<'c, T> + Send,
            {
                let mut tx = self.pool.begin().await.map_err(classify)?;
                if D == Dialect::Postgres {
                    // One snapshot for every statement of the read, as MySQL's default
                    // REPEATABLE READ gives: a list and its children, or the overview's
                    // components and incidents, are never torn by a write in between.
                    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                        .execute(&mut *tx)
                        .await
                        .map_err(classify)?;
                }
                let value = op(&mut tx).await.map_err(Fail::into_store)?;
                tx.commit().await.map_err(classify)?;
                Ok(value)
            }
        }

        /// A short random pause before attempt `n`, growing with `n`.
        async fn pause(n: u32) {
            let ms = rand::random_range(1..=10u64) * u64::from(n);
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }

        // ------------------------------------------------------------------ plumbing

        fn bind<'q>(
            sql: &'q str,
            args: Vec<Arg>,
        ) -> sqlx::query::Query<'q, Db, <Db as Database>::Arguments<'q>> {
            let mut q = sqlx::query(sql);
            for a in args {
                q = match a {
                    Arg::Int(v) => q.bind(v),
                    Arg::OptInt(v) => q.bind(v),
                    Arg::Float(v) => q.bind(v),
                    Arg::Text(v) => q.bind(v),
                    Arg::OptText(v) => q.bind(v),
                    Arg::Bool(v) => q.bind(v),
                };
            }
            q
        }

        async fn fetch_all<T>(
            c: &mut Conn,
            sql: &str,
            args: Vec<Arg>,
            map: fn(&DbRow) -> Result<T, sqlx::Error>,
        ) -> Res<Vec<T>> {
            let sql = D.sql(sql);
            let rows = bind(&sql, args).fetch_all(&mut *c).await?;
            Ok(rows.iter().map(map).collect::<Result<Vec<_>, _>>()?)
        }

        async fn fetch_opt<T>(
            c: &mut Conn,
            sql: &str,
            args: Vec<Arg>,
            map: fn(&DbRow) -> Result<T, sqlx::Error>,
        ) -> Res<Option<T>> {
            let sql = D.sql(sql);
            let row = bind(&sql, args).fetch_optional(&mut *c).await?;
            Ok(row.as_ref().map(map).transpose()?)
        }

        async fn exists(c: &mut Conn, sql: &str, args: Vec<Arg>) -> Res<bool> {
            Ok(fetch_opt(c, sql, args, |_| Ok(())).await?.is_some())
        }

        /// Rows changed by a statement.
        async fn execute(c: &mut Conn, sql: &str, args: Vec<Arg>) -> Res<u64> {
            let sql = D.sql(sql);
            Ok(bind(&sql, args).execute(&mut *c).await?.rows_affected())
        }

        /// Runs an `INSERT` and returns the new row's id.
        async fn insert(c: &mut Conn, sql: &str, args: Vec<Arg>) -> Res<i64> {
            match D {
                Dialect::Postgres => {
                    let sql = D.sql(&format!("{sql} RETURNING id"));
                    let row = bind(&sql, args).fetch_one(&mut *c).await?;
                    Ok(row.try_get::<i64, _>(0)?)
                }
                Dialect::MySql => {
                    let sql = D.sql(sql);
                    let done = bind(&sql, args).execute(&mut *c).await?;
                    done.last_id()
                        .ok_or_else(|| Fail::from(Corrupt("no insert id".to_owned())))
                }
            }
        }

        async fn update_set(c: &mut Conn, set: Set, table: &'static str, id: i64) -> Res<u64> {
            if set.is_empty() {
                return Ok(0);
            }
            let (sql, args) = set.statement(table, id);
            execute(c, &sql, args).await
        }

        /// Counts the matching rows, then reads one page of them sorted.
        async fn fetch_page<T, S, F>(
            c: &mut Conn,
            spec: &PageSpec<'_>,
            q: &ListQuery<S, F>,
            map: fn(&DbRow) -> Result<T, sqlx::Error>,
        ) -> Res<(Vec<T>, u64)> {
            let count_sql = D.sql(&spec.count_sql());
            let total: i64 = bind(&count_sql, spec.filter.args.clone())
                .fetch_one(&mut *c)
                .await?
                .try_get(0)?;
            let total = u64::try_from(total)
                .map_err(|_| Corrupt("negative row count".to_owned()))?;
            if q.offset() >= total {
                return Ok((Vec::new(), total));
            }
            let (sql, args) = spec.page_sql(q);
            Ok((fetch_all(c, &sql, args, map).await?, total))
        }

        fn decode(e: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
            sqlx::Error::Decode(Box::new(e))
        }

        fn ts(r: &DbRow, i: usize) -> Result<DateTime<Utc>, sqlx::Error> {
            let secs: i64 = r.try_get(i)?;
            DateTime::from_timestamp(secs, 0)
                .ok_or_else(|| decode(Corrupt(format!("instant {secs}"))))
        }

        fn opt_ts(r: &DbRow, i: usize) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
            match r.try_get::<Option<i64>, _>(i)? {
                None => Ok(None),
                Some(secs) => DateTime::from_timestamp(secs, 0)
                    .map(Some)
                    .ok_or_else(|| decode(Corrupt(format!("instant {secs}")))),
            }
        }

        fn en<T: TryFrom<i64, Error = UnknownValue>>(
            r: &DbRow,
            i: usize,
        ) -> Result<T, sqlx::Error> {
            T::try_from(r.try_get::<i64, _>(i)?).map_err(decode)
        }

        fn opt_en<T: TryFrom<i64, Error = UnknownValue>>(
            r: &DbRow,
            i: usize,
        ) -> Result<Option<T>, sqlx::Error> {
            r.try_get::<Option<i64>, _>(i)?
                .map(|v| T::try_from(v).map_err(decode))
                .transpose()
        }

        /// Text of column `i`. MySQL flags text in a binary collation (this schema's, for
        /// byte-wise comparison as on the other engines) as binary data, so there it is read
        /// as bytes and checked to be UTF-8.
        fn text(r: &DbRow, i: usize) -> Result<String, sqlx::Error> {
            match D {
                Dialect::MySql => String::from_utf8(r.try_get::<Vec<u8>, _>(i)?).map_err(decode),
                Dialect::Postgres => r.try_get(i),
            }
        }

        fn opt_text(r: &DbRow, i: usize) -> Result<Option<String>, sqlx::Error> {
            match D {
                Dialect::MySql => r
                    .try_get::<Option<Vec<u8>>, _>(i)?
                    .map(|b| String::from_utf8(b).map_err(decode))
                    .transpose(),
                Dialect::Postgres => r.try_get(i),
            }
        }

        fn small(r: &DbRow, i: usize) -> Result<u8, sqlx::Error> {
            let v: i64 = r.try_get(i)?;
            u8::try_from(v).map_err(|_| decode(Corrupt(format!("small number {v}"))))
        }

        fn digest(r: &DbRow, i: usize) -> Result<TokenHash, sqlx::Error> {
            let hex = text(r, i)?;
            TokenHash::from_hex(&hex).ok_or_else(|| decode(Corrupt("digest".to_owned())))
        }

        fn secs(t: DateTime<Utc>) -> i64 {
            t.timestamp()
        }

        /// Whole seconds, rounded up: "at or after `t`" on a column of whole seconds.
        fn secs_ceil(t: DateTime<Utc>) -> i64 {
            let s = t.timestamp();
            if t.timestamp_subsec_nanos() > 0 {
                s.saturating_add(1)
            } else {
                s
            }
        }

        fn ints(ids: impl IntoIterator<Item = i64>) -> Vec<Arg> {
            ids.into_iter().map(Arg::Int).collect()
        }

        /// Ids per `IN (...)` list: far below every engine's parameter limit.
        const CHUNK: usize = 1000;

        fn now_secs() -> i64 {
            secs(now())
        }

        // ------------------------------------------------------------------ components

        const COMPONENT_COLUMNS: &str = "c.id, c.name, c.description, c.link, c.status, c.position, \
             c.group_id, c.enabled, c.meta, c.created_at, c.updated_at";

        fn component_row(r: &DbRow) -> Result<Component, sqlx::Error> {
            let meta = opt_text(r, 8)?;
            Ok(Component {
                id: ComponentId(r.try_get(0)?),
                name: text(r, 1)?,
                description: text(r, 2)?,
                link: text(r, 3)?,
                status: en(r, 4)?,
                order: r.try_get(5)?,
                group_id: r.try_get::<Option<i64>, _>(6)?.map(GroupId),
                enabled: r.try_get(7)?,
                meta: meta
                    .map(|m| serde_json::from_str(&m))
                    .transpose()
                    .map_err(decode)?,
                tags: Vec::new(),
                created_at: ts(r, 9)?,
                updated_at: ts(r, 10)?,
            })
        }

        fn component_sort(s: ComponentSort) -> &'static str {
            match s {
                ComponentSort::Id => "c.id",
                ComponentSort::Name => "c.name",
                ComponentSort::Status => "c.status",
                ComponentSort::Order => "c.position",
                // Ungrouped sorts as group 0 (ids start at 1), as in the reference store.
                ComponentSort::GroupId => "COALESCE(c.group_id, 0)",
                ComponentSort::Enabled => "c.enabled",
            }
        }

        async fn component_is_live(c: &mut Conn, id: ComponentId) -> Res<bool> {
            exists(
                c,
                "SELECT 1 FROM components WHERE id = ? AND deleted_at IS NULL",
                vec![Arg::Int(id.get())],
            )
            .await
        }

        /// Locks a live component's row until the transaction ends; false when there is none.
        async fn lock_component(c: &mut Conn, id: ComponentId) -> Res<bool> {
            exists(
                c,
                "SELECT 1 FROM components WHERE id = ? AND deleted_at IS NULL FOR UPDATE",
                vec![Arg::Int(id.get())],
            )
            .await
        }

        /// Fills the tags (sorted by slug) of `components`.
        async fn fill_tags(c: &mut Conn, components: &mut [Component]) -> Res<()> {
            let mut by_component: HashMap<i64, Vec<Tag>> = HashMap::new();
            for chunk in components.chunks(CHUNK) {
                let mut w = Where::default();
                w.with_list(
                    |ph| format!("ct.component_id IN ({ph})"),
                    ints(chunk.iter().map(|c| c.id.get())),
                );
                let sql = format!(
                    "SELECT ct.component_id, t.slug, t.name FROM component_tags ct \
                     JOIN tags t ON t.id = ct.tag_id WHERE {} ORDER BY ct.component_id, t.slug",
                    w.sql()
                );
                let rows = fetch_all(c, &sql, w.args, |r| {
                    Ok((
                        r.try_get::<i64, _>(0)?,
                        Tag {
                            slug: text(r, 1)?,
                            name: text(r, 2)?,
                        },
                    ))
                })
                .await?;
                for (id, tag) in rows {
                    by_component.entry(id).or_default().push(tag);
                }
            }
            for c in components {
                c.tags = by_component.remove(&c.id.get()).unwrap_or_default();
            }
            Ok(())
        }

        async fn set_tags(c: &mut Conn, id: ComponentId, tags: &[Tag]) -> Res<()> {
            execute(
                c,
                "DELETE FROM component_tags WHERE component_id = ?",
                vec![Arg::Int(id.get())],
            )
            .await?;
            let create_tag = match D {
                Dialect::Postgres => {
                    "INSERT INTO tags (name, slug) VALUES (?, ?) ON CONFLICT (slug) DO NOTHING"
                }
                Dialect::MySql => {
                    "INSERT INTO tags (name, slug) VALUES (?, ?) ON DUPLICATE KEY UPDATE slug = slug"
                }
            };
            let link = match D {
                Dialect::Postgres => {
                    "INSERT INTO component_tags (component_id, tag_id) VALUES (?, ?) ON CONFLICT DO NOTHING"
                }
                Dialect::MySql => {
                    "INSERT INTO component_tags (component_id, tag_id) VALUES (?, ?) \
                     ON DUPLICATE KEY UPDATE tag_id = tag_id"
                }
            };
            for tag in tags {
                execute(
                    c,
                    create_tag,
                    vec![Arg::from(tag.name.as_str()), Arg::from(tag.slug.as_str())],
                )
                .await?;
                // A locking read sees a tag another transaction just committed, even inside
                // MySQL's snapshot.
                let tag_id = fetch_opt(
                    c,
                    "SELECT id FROM tags WHERE slug = ? FOR UPDATE",
                    vec![Arg::from(tag.slug.as_str())],
                    |r| r.try_get::<i64, _>(0),
                )
                .await?
                .ok_or_else(|| Corrupt(format!("tag {} vanished", tag.slug)))?;
                execute(c, link, vec![Arg::Int(id.get()), Arg::Int(tag_id)]).await?;
            }
            Ok(())
        }

        async fn all_live_components(c: &mut Conn) -> Res<Vec<Component>> {
            let sql = format!(
                "SELECT {COMPONENT_COLUMNS} FROM components c WHERE c.deleted_at IS NULL \
                 ORDER BY c.position, c.id"
            );
            let mut items = fetch_all(c, &sql, Vec::new(), component_row).await?;
            fill_tags(c, &mut items).await?;
            Ok(items)
        }

        async fn list_components(
            c: &mut Conn,
            q: ListQuery<ComponentSort, ComponentFilter>,
        ) -> Res<Page<Component>> {
            let f = &q.filter;
            let mut w = Where::default();
            w.raw("c.deleted_at IS NULL");
            if let Some(id) = f.id {
                w.bind("c.id = ?", id.get());
            }
            if let Some(name) = &f.name {
                w.bind("c.name = ?", name.clone());
            }
            if let Some(status) = f.status {
                w.bind("c.status = ?", status.as_i64());
            }
            if let Some(order) = f.order {
                w.bind("c.position = ?", order);
            }
            match f.group_id {
                Some(Some(g)) => w.bind("c.group_id = ?", g.get()),
                Some(None) => w.raw("c.group_id IS NULL"),
                None => {}
            }
            if let Some(enabled) = f.enabled {
                w.bind("c.enabled = ?", enabled);
            }
            if !f.tags.is_empty() {
                w.with_list(
                    |ph| {
                        format!(
                            "c.id IN (SELECT ct.component_id FROM component_tags ct \
                             JOIN tags t ON t.id = ct.tag_id WHERE t.slug IN ({ph}))"
                        )
                    },
                    f.tags.iter().map(|t| Arg::from(t.as_str())).collect(),
                );
            }
            if f.public_only {
                // A group id naming no group counts as ungrouped, as in the reference store.
                w.raw(
                    "c.enabled = TRUE AND NOT EXISTS \
                     (SELECT 1 FROM component_groups g WHERE g.id = c.group_id AND g.visible <> 1)",
                );
            }
            let spec = PageSpec {
                columns: COMPONENT_COLUMNS,
                from: "components c",
                filter: &w,
                order: order_by(D, q.sort.map(|(s, o)| (component_sort(s), o)), "c.id", "c.id ASC"),
            };
            let (mut items, total) = fetch_page(c, &spec, &q, component_row).await?;
            fill_tags(c, &mut items).await?;
            Ok(Page { items, total })
        }

        async fn get_component(c: &mut Conn, id: ComponentId) -> Res<Component> {
            let sql = format!(
                "SELECT {COMPONENT_COLUMNS} FROM components c WHERE c.id = ? AND c.deleted_at IS NULL"
            );
            let Some(found) = fetch_opt(c, &sql, vec![Arg::Int(id.get())], component_row).await?
            else {
                return not_found(Entity::Component);
            };
            let mut one = [found];
            fill_tags(c, &mut one).await?;
            let [found] = one;
            Ok(found)
        }

        fn meta_arg(meta: Option<&serde_json::Value>) -> Arg {
            Arg::OptText(meta.map(ToString::to_string))
        }

        async fn create_component(c: &mut Conn, new: NewComponent) -> Res<Component> {
            let at = now_secs();
            let id = insert(
                c,
                "INSERT INTO components (name, description, link, status, position, group_id, \
                 enabled, meta, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                vec![
                    new.name.into(),
                    new.description.into(),
                    new.link.into(),
                    new.status.as_i64().into(),
                    new.order.into(),
                    new.group_id.map(GroupId::get).into(),
                    new.enabled.into(),
                    meta_arg(new.meta.as_ref()),
                    at.into(),
                    at.into(),
                ],
            )
            .await?;
            let id = ComponentId(id);
            set_tags(c, id, &new.tags).await?;
            get_component(c, id).await
        }

        async fn update_component(
            c: &mut Conn,
            id: ComponentId,
            changes: ComponentChanges,
            source: StatusSource,
        ) -> Res<Component> {
            if !lock_component(c, id).await? {
                return not_found(Entity::Component);
            }
            if let Some(status) = changes.status {
                let at = now_secs();
                if set_status(c, id, status, source, at).await?.is_some() {
                    enqueue(c, changes.notice.clone(), Some(id.get()), None, at).await?;
                }
            }
            let mut set = Set::default();
            set.set_some("name", changes.name);
            set.set_some("description", changes.description);
            set.set_some("link", changes.link);
            set.set_some("position", changes.order);
            set.set_some("group_id", changes.group_id.map(|g| g.map(GroupId::get)));
            set.set_some("enabled", changes.enabled);
            if let Some(meta) = changes.meta {
                set.set("meta", meta_arg(meta.as_ref()));
            }
            set.set("updated_at", now_secs());
            update_set(c, set, "components", id.get()).await?;
            if let Some(tags) = changes.tags {
                set_tags(c, id, &tags).await?;
            }
            get_component(c, id).await
        }

        async fn delete_component(c: &mut Conn, id: ComponentId) -> Res<()> {
            let changed = execute(
                c,
                "UPDATE components SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
                vec![Arg::Int(now_secs()), Arg::Int(id.get())],
            )
            .await?;
            if changed == 0 {
                return not_found(Entity::Component);
            }
            for table in ["subscriptions", "component_status_changes", "maintenance_holds"] {
                execute(
                    c,
                    &format!("DELETE FROM {table} WHERE component_id = ?"),
                    vec![Arg::Int(id.get())],
                )
                .await?;
            }
            Ok(())
        }

        // ------------------------------------------------------------------ status history

        const CHANGE_COLUMNS: &str = "id, component_id, at, old_status, new_status, source";

        fn change_row(r: &DbRow) -> Result<StatusChange, sqlx::Error> {
            Ok(StatusChange {
                id: StatusChangeId(r.try_get(0)?),
                component_id: ComponentId(r.try_get(1)?),
                at: ts(r, 2)?,
                old: en(r, 3)?,
                new: en(r, 4)?,
                source: en(r, 5)?,
            })
        }

        /// Sets a live component's status to `new` and records the change, in the caller's
        /// transaction; `None` (and no write) when it already has that status or is not live.
        /// The row is locked before its status is read, so the status is the latest committed
        /// one (a locking read, on MySQL too) and concurrent changes form one chain.
        async fn set_status(
            c: &mut Conn,
            component: ComponentId,
            new: ComponentStatus,
            source: StatusSource,
            at: i64,
        ) -> Res<Option<StatusChange>> {
            let old: Option<ComponentStatus> = fetch_opt(
                c,
                "SELECT status FROM components WHERE id = ? AND deleted_at IS NULL FOR UPDATE",
                vec![Arg::Int(component.get())],
                |r| en(r, 0),
            )
            .await?;
            let Some(old) = old.filter(|old| *old != new) else {
                return Ok(None);
            };
            execute(
                c,
                "UPDATE components SET status = ?, updated_at = ? WHERE id = ?",
                vec![Arg::Int(new.as_i64()), Arg::Int(at), Arg::Int(component.get())],
            )
            .await?;
            let id = insert(
                c,
                "INSERT INTO component_status_changes (component_id, at, old_status, new_status, source) \
                 VALUES (?, ?, ?, ?, ?)",
                vec![
                    Arg::Int(component.get()),
                    Arg::Int(at),
                    Arg::Int(old.as_i64()),
                    Arg::Int(new.as_i64()),
                    Arg::Int(source.as_i64()),
                ],
            )
            .await?;
            let at = DateTime::from_timestamp(at, 0)
                .ok_or_else(|| Fail::from(Corrupt(format!("instant {at}"))))?;
            Ok(Some(StatusChange {
                id: StatusChangeId(id),
                component_id: component,
                at,
                old,
                new,
                source,
            }))
        }

        async fn status_changes(
            c: &mut Conn,
            component: ComponentId,
            page: u32,
            per_page: u32,
        ) -> Res<Page<StatusChange>> {
            let q: ListQuery<(), ()> = ListQuery::new(page, per_page, ());
            let mut w = Where::default();
            w.bind("component_id = ?", component.get());
            let spec = PageSpec {
                columns: CHANGE_COLUMNS,
                from: "component_status_changes",
                filter: &w,
                order: "id DESC".to_owned(),
            };
            let (items, total) = fetch_page(c, &spec, &q, change_row).await?;
            Ok(Page { items, total })
        }

        fn hold_row(r: &DbRow) -> Result<Hold, sqlx::Error> {
            Ok(Hold {
                schedule_id: ScheduleId(r.try_get(0)?),
                component_id: ComponentId(r.try_get(1)?),
                restore: en(r, 2)?,
                applied: en(r, 3)?,
            })
        }

        /// [`maintenance::plan`] over the live schedules that are not Complete, every hold
        /// and the statuses they name (rows locked, in id order), then its writes.
        async fn reconcile_maintenance(c: &mut Conn, now: DateTime<Utc>) -> Res<Vec<StatusChange>> {
            // One run at a time, on every instance: the others wait here, then see its holds.
            exists(
                c,
                "SELECT 1 FROM store_locks WHERE name = 'maintenance' FOR UPDATE",
                Vec::new(),
            )
            .await?;
            let sql = format!(
                "SELECT {SCHEDULE_COLUMNS} FROM schedules s WHERE s.deleted_at IS NULL \
                 AND s.status <> ? ORDER BY s.id"
            );
            let mut schedules = fetch_all(
                c,
                &sql,
                vec![Arg::Int(ScheduleStatus::Complete.as_i64())],
                schedule_row,
            )
            .await?;
            fill_schedule_components(c, &mut schedules).await?;
            let holds = fetch_all(
                c,
                "SELECT schedule_id, component_id, restore_status, applied_status \
                 FROM maintenance_holds ORDER BY component_id, schedule_id FOR UPDATE",
                Vec::new(),
                hold_row,
            )
            .await?;
            let mut named: Vec<i64> = schedules
                .iter()
                .flat_map(|s| s.components.iter().map(|r| r.component_id.get()))
                .chain(holds.iter().map(|h| h.component_id.get()))
                .collect();
            named.sort_unstable();
            named.dedup();
            let mut statuses = BTreeMap::new();
            for chunk in named.chunks(CHUNK) {
                let mut w = Where::default();
                w.raw("deleted_at IS NULL");
                w.with_list(|ph| format!("id IN ({ph})"), ints(chunk.iter().copied()));
                let sql = format!(
                    "SELECT id, status FROM components WHERE {} ORDER BY id FOR UPDATE",
                    w.sql()
                );
                let rows = fetch_all(c, &sql, w.args, |r| {
                    Ok((ComponentId(r.try_get(0)?), en::<ComponentStatus>(r, 1)?))
                })
                .await?;
                statuses.extend(rows);
            }
            let plan = maintenance::plan(now, &schedules, &holds, &statuses);
            let at = secs(now);
            let mut written = Vec::new();
            for cp in plan.components {
                if let Some((_, new)) = cp.change {
                    written.extend(
                        set_status(c, cp.component_id, new, StatusSource::Maintenance, at).await?,
                    );
                }
                execute(
                    c,
                    "DELETE FROM maintenance_holds WHERE component_id = ?",
                    vec![Arg::Int(cp.component_id.get())],
                )
                .await?;
                for h in cp.holds {
                    execute(
                        c,
                        "INSERT INTO maintenance_holds (schedule_id, component_id, restore_status, \
                         applied_status) VALUES (?, ?, ?, ?)",
                        vec![
                            Arg::Int(h.schedule_id.get()),
                            Arg::Int(h.component_id.get()),
                            Arg::Int(h.restore.as_i64()),
                            Arg::Int(h.applied.as_i64()),
                        ],
                    )
                    .await?;
                }
            }
            Ok(written)
        }

        // ------------------------------------------------------------------ groups

        const GROUP_COLUMNS: &str =
            "g.id, g.name, g.position, g.collapsed, g.visible, g.created_at, g.updated_at";

        fn group_row(r: &DbRow) -> Result<ComponentGroup, sqlx::Error> {
            Ok(ComponentGroup {
                id: GroupId(r.try_get(0)?),
                name: text(r, 1)?,
                order: r.try_get(2)?,
                collapsed: en(r, 3)?,
                visible: en(r, 4)?,
                created_at: ts(r, 5)?,
                updated_at: ts(r, 6)?,
            })
        }

        fn group_sort(s: GroupSort) -> &'static str {
            match s {
                GroupSort::Id => "g.id",
                GroupSort::Name => "g.name",
                GroupSort::Order => "g.position",
                GroupSort::Collapsed => "g.collapsed",
                GroupSort::Visible => "g.visible",
            }
        }

        async fn all_groups(c: &mut Conn) -> Res<Vec<ComponentGroup>> {
            let sql =
                format!("SELECT {GROUP_COLUMNS} FROM component_groups g ORDER BY g.position, g.id");
            fetch_all(c, &sql, Vec::new(), group_row).await
        }

        async fn list_groups(
            c: &mut Conn,
            q: ListQuery<GroupSort, GroupFilter>,
        ) -> Res<Page<ComponentGroup>> {
            let f = &q.filter;
            let mut w = Where::default();
            if let Some(id) = f.id {
                w.bind("g.id = ?", id.get());
            }
            if let Some(name) = &f.name {
                w.bind("g.name = ?", name.clone());
            }
            if let Some(order) = f.order {
                w.bind("g.position = ?", order);
            }
            if let Some(collapsed) = f.collapsed {
                w.bind("g.collapsed = ?", collapsed.as_i64());
            }
            if let Some(visible) = f.visible {
                w.bind("g.visible = ?", visible.as_i64());
            }
            if f.public_only {
                w.raw("g.visible = 1");
            }
            let spec = PageSpec {
                columns: GROUP_COLUMNS,
                from: "component_groups g",
                filter: &w,
                order: order_by(D, q.sort.map(|(s, o)| (group_sort(s), o)), "g.id", "g.id ASC"),
            };
            let (items, total) = fetch_page(c, &spec, &q, group_row).await?;
            Ok(Page { items, total })
        }

        async fn get_group(c: &mut Conn, id: GroupId) -> Res<ComponentGroup> {
            let sql = format!("SELECT {GROUP_COLUMNS} FROM component_groups g WHERE g.id = ?");
            match fetch_opt(c, &sql, vec![Arg::Int(id.get())], group_row).await? {
                Some(g) => Ok(g),
                None => not_found(Entity::Group),
            }
        }

        async fn create_group(c: &mut Conn, new: NewGroup) -> Res<ComponentGroup> {
            let at = now_secs();
            let id = insert(
                c,
                "INSERT INTO component_groups (name, position, collapsed, visible, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?)",
                vec![
                    new.name.into(),
                    new.order.into(),
                    new.collapsed.as_i64().into(),
                    new.visible.as_i64().into(),
                    at.into(),
                    at.into(),
                ],
            )
            .await?;
            get_group(c, GroupId(id)).await
        }

        async fn update_group(c: &mut Conn, id: GroupId, changes: GroupChanges) -> Res<ComponentGroup> {
            get_group(c, id).await?;
            let mut set = Set::default();
            set.set_some("name", changes.name);
            set.set_some("position", changes.order);
            set.set_some("collapsed", changes.collapsed.map(i64::from));
            set.set_some("visible", changes.visible.map(i64::from));
            set.set("updated_at", now_secs());
            update_set(c, set, "component_groups", id.get()).await?;
            get_group(c, id).await
        }

        async fn delete_group(c: &mut Conn, id: GroupId) -> Res<()> {
            let deleted = execute(
                c,
                "DELETE FROM component_groups WHERE id = ?",
                vec![Arg::Int(id.get())],
            )
            .await?;
            if deleted == 0 {
                return not_found(Entity::Group);
            }
            // Deleted components too: afterwards no component has the id.
            execute(
                c,
                "UPDATE components SET group_id = NULL WHERE group_id = ?",
                vec![Arg::Int(id.get())],
            )
            .await?;
            Ok(())
        }

        // ------------------------------------------------------------------ incidents

        const INCIDENT_COLUMNS: &str = "i.id, i.user_id, i.component_id, i.impact, i.name, i.status, \
             i.visible, i.stickied, i.message, i.message_html, i.occurred_at, i.meta, i.created_at, i.updated_at";

        fn incident_row(r: &DbRow) -> Result<Incident, sqlx::Error> {
            let meta = text(r, 11)?;
            Ok(Incident {
                id: IncidentId(r.try_get(0)?),
                user_id: r.try_get::<Option<i64>, _>(1)?.map(UserId),
                component_id: r.try_get::<Option<i64>, _>(2)?.map(ComponentId),
                impact: opt_en(r, 3)?,
                name: text(r, 4)?,
                status: en(r, 5)?,
                visible: en(r, 6)?,
                stickied: r.try_get(7)?,
                message: text(r, 8)?,
                message_html: SafeHtml::from_stored(text(r, 9)?),
                occurred_at: ts(r, 10)?,
                meta: serde_json::from_str(&meta).map_err(decode)?,
                updates: Vec::new(),
                created_at: ts(r, 12)?,
                updated_at: ts(r, 13)?,
            })
        }

        fn incident_sort(s: IncidentSort) -> &'static str {
            match s {
                IncidentSort::Id => "i.id",
                IncidentSort::UserId => "i.user_id",
                IncidentSort::Name => "i.name",
                IncidentSort::Status => "i.status",
                IncidentSort::Visible => "i.visible",
                IncidentSort::Stickied => "i.stickied",
                IncidentSort::Message => "i.message",
                IncidentSort::OccurredAt => "i.occurred_at",
            }
        }

        const UPDATE_COLUMNS: &str = "u.id, u.incident_id, u.status, u.message, u.message_html, \
             u.user_id, u.created_at, u.updated_at";

        fn update_row(r: &DbRow) -> Result<IncidentUpdate, sqlx::Error> {
            Ok(IncidentUpdate {
                id: UpdateId(r.try_get(0)?),
                incident_id: IncidentId(r.try_get(1)?),
                status: en(r, 2)?,
                message: text(r, 3)?,
                message_html: SafeHtml::from_stored(text(r, 4)?),
                user_id: r.try_get::<Option<i64>, _>(5)?.map(UserId),
                created_at: ts(r, 6)?,
                updated_at: ts(r, 7)?,
            })
        }

        fn update_sort(s: UpdateSort) -> &'static str {
            match s {
                UpdateSort::Id => "u.id",
                UpdateSort::Status => "u.status",
                UpdateSort::UserId => "u.user_id",
            }
        }

        /// Fills the updates (newest first) of `incidents`.
        async fn fill_updates(c: &mut Conn, incidents: &mut [Incident]) -> Res<()> {
            let mut by_incident: HashMap<i64, Vec<IncidentUpdate>> = HashMap::new();
            for chunk in incidents.chunks(CHUNK) {
                let mut w = Where::default();
                w.with_list(
                    |ph| format!("u.incident_id IN ({ph})"),
                    ints(chunk.iter().map(|i| i.id.get())),
                );
                let sql = format!(
                    "SELECT {UPDATE_COLUMNS} FROM incident_updates u WHERE {} \
                     ORDER BY u.created_at DESC, u.id DESC",
                    w.sql()
                );
                for update in fetch_all(c, &sql, w.args, update_row).await? {
                    by_incident
                        .entry(update.incident_id.get())
                        .or_default()
                        .push(update);
                }
            }
            for incident in incidents {
                incident.updates = by_incident.remove(&incident.id.get()).unwrap_or_default();
            }
            Ok(())
        }

        async fn incident_is_live(c: &mut Conn, id: IncidentId, lock: bool) -> Res<bool> {
            let sql = if lock {
                "SELECT 1 FROM incidents WHERE id = ? AND deleted_at IS NULL FOR UPDATE"
            } else {
                "SELECT 1 FROM incidents WHERE id = ? AND deleted_at IS NULL"
            };
            exists(c, sql, vec![Arg::Int(id.get())]).await
        }

        async fn list_incidents(
            c: &mut Conn,
            q: ListQuery<IncidentSort, IncidentFilter>,
        ) -> Res<Page<Incident>> {
            let f = &q.filter;
            let mut w = Where::default();
            w.raw("i.deleted_at IS NULL");
            if let Some(id) = f.id {
                w.bind("i.id = ?", id.get());
            }
            if let Some(user) = f.user_id {
                w.bind("i.user_id = ?", user.get());
            }
            match f.component_id {
                Some(Some(cid)) => w.bind("i.component_id = ?", cid.get()),
                Some(None) => w.raw("i.component_id IS NULL"),
                None => {}
            }
            if let Some(name) = &f.name {
                w.bind("i.name = ?", name.clone());
            }
            if let Some(status) = f.status {
                w.bind("i.status = ?", status.as_i64());
            }
            if let Some(visible) = f.visible {
                w.bind("i.visible = ?", visible.as_i64());
            }
            if let Some(stickied) = f.stickied {
                w.bind("i.stickied = ?", stickied);
            }
            if f.public_only {
                w.raw("i.visible = 1");
            }
            let spec = PageSpec {
                columns: INCIDENT_COLUMNS,
                from: "incidents i",
                filter: &w,
                order: order_by(D, q.sort.map(|(s, o)| (incident_sort(s), o)), "i.id", "i.id ASC"),
            };
            if D == Dialect::MySql && matches!(q.sort, Some((IncidentSort::Message, _))) {
                // MySQL sorts by the first max_sort_length bytes only (1024 by default);
                // messages are up to 64 KiB (names fit in 1024 bytes, so only this sort needs
                // it), and the sort buffer must hold a good number of such keys. The settings
                // stay on the pooled connection, which is harmless.
                execute(
                    c,
                    "SET SESSION max_sort_length = 65536, sort_buffer_size = 8388608",
                    Vec::new(),
                )
                .await?;
            }
            let (mut items, total) = fetch_page(c, &spec, &q, incident_row).await?;
            fill_updates(c, &mut items).await?;
            Ok(Page { items, total })
        }

        async fn get_incident(c: &mut Conn, id: IncidentId) -> Res<Incident> {
            let sql = format!(
                "SELECT {INCIDENT_COLUMNS} FROM incidents i WHERE i.id = ? AND i.deleted_at IS NULL"
            );
            let Some(found) = fetch_opt(c, &sql, vec![Arg::Int(id.get())], incident_row).await?
            else {
                return not_found(Entity::Incident);
            };
            let mut one = [found];
            fill_updates(c, &mut one).await?;
            let [found] = one;
            Ok(found)
        }

        async fn incidents_for_overview(c: &mut Conn, since: DateTime<Utc>) -> Res<Vec<Incident>> {
            let sql = format!(
                "SELECT {INCIDENT_COLUMNS} FROM incidents i WHERE i.deleted_at IS NULL AND ( \
                   COALESCE((SELECT u.status FROM incident_updates u WHERE u.incident_id = i.id \
                             ORDER BY u.created_at DESC, u.id DESC LIMIT 1), i.status) <> ? \
                   OR i.stickied = TRUE OR i.occurred_at >= ?) \
                 ORDER BY i.occurred_at DESC, i.id DESC"
            );
            let mut items = fetch_all(
                c,
                &sql,
                vec![
                    Arg::Int(IncidentStatus::Fixed.as_i64()),
                    Arg::Int(secs_ceil(since)),
                ],
                incident_row,
            )
            .await?;
            fill_updates(c, &mut items).await?;
            Ok(items)
        }

        async fn set_component_status(c: &mut Conn, component: ComponentId, status: ComponentStatus) -> Res<()> {
            set_status(c, component, status, StatusSource::Incident, now_secs()).await?;
            Ok(())
        }

        async fn create_incident(c: &mut Conn, new: NewIncident) -> Res<Incident> {
            if let Some(component) = new.component_id {
                if !lock_component(c, component).await? {
                    return not_found(Entity::Component);
                }
            }
            let at = now_secs();
            let id = insert(
                c,
                "INSERT INTO incidents (user_id, component_id, impact, name, status, visible, stickied, \
                 message, message_html, occurred_at, meta, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                vec![
                    new.user_id.map(UserId::get).into(),
                    new.component_id.map(ComponentId::get).into(),
                    new.impact.map(i64::from).into(),
                    new.name.into(),
                    new.status.as_i64().into(),
                    new.visible.as_i64().into(),
                    new.stickied.into(),
                    new.message.source.into(),
                    new.message.html.as_str().into(),
                    secs(new.occurred_at).into(),
                    serde_json::to_string(&new.meta)?.into(),
                    at.into(),
                    at.into(),
                ],
            )
            .await?;
            if let (Some(component), Some(impact)) = (new.component_id, new.impact) {
                set_component_status(c, component, impact).await?;
            }
            enqueue(c, new.notice, Some(id), None, at).await?;
            get_incident(c, IncidentId(id)).await
        }

        async fn update_incident(
            c: &mut Conn,
            id: IncidentId,
            changes: IncidentChanges,
        ) -> Res<Incident> {
            if !incident_is_live(c, id, true).await? {
                return not_found(Entity::Incident);
            }
            let current = get_incident(c, id).await?;
            let target = changes.component_id.unwrap_or(current.component_id);
            if let Some(Some(component)) = changes.component_id {
                if !lock_component(c, component).await? {
                    return not_found(Entity::Component);
                }
            } else if let (Some(component), Some(_)) = (target, changes.impact) {
                lock_component(c, component).await?;
            }
            let mut set = Set::default();
            set.set_some("name", changes.name);
            set.set_some("status", changes.status.map(i64::from));
            set.set_some("visible", changes.visible.map(i64::from));
            set.set_some("stickied", changes.stickied);
            if let Some(message) = changes.message {
                set.set("message", message.source);
                set.set("message_html", message.html.as_str());
            }
            set.set_some("occurred_at", changes.occurred_at.map(secs));
            if let Some(component) = changes.component_id {
                set.set("component_id", component.map(ComponentId::get));
            }
            set.set_some("impact", changes.impact.map(i64::from));
            if !changes.meta.is_empty() {
                let mut meta = current.meta;
                for (key, value) in changes.meta {
                    match value {
                        Some(v) => meta.insert(key, v),
                        None => meta.remove(&key),
                    };
                }
                set.set("meta", serde_json::to_string(&meta)?);
            }
            set.set("updated_at", now_secs());
            update_set(c, set, "incidents", id.get()).await?;
            if let (Some(impact), Some(component)) = (changes.impact, target) {
                set_component_status(c, component, impact).await?;
            }
            enqueue(c, changes.notice, Some(id.get()), None, now_secs()).await?;
            get_incident(c, id).await
        }

        async fn delete_incident(c: &mut Conn, id: IncidentId) -> Res<()> {
            let changed = execute(
                c,
                "UPDATE incidents SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
                vec![Arg::Int(now_secs()), Arg::Int(id.get())],
            )
            .await?;
            if changed == 0 {
                return not_found(Entity::Incident);
            }
            Ok(())
        }

        async fn list_updates(
            c: &mut Conn,
            incident: IncidentId,
            q: ListQuery<UpdateSort, ()>,
        ) -> Res<Page<IncidentUpdate>> {
            if !incident_is_live(c, incident, false).await? {
                return not_found(Entity::Incident);
            }
            let mut w = Where::default();
            w.bind("u.incident_id = ?", incident.get());
            let spec = PageSpec {
                columns: UPDATE_COLUMNS,
                from: "incident_updates u",
                filter: &w,
                order: order_by(
                    D,
                    q.sort.map(|(s, o)| (update_sort(s), o)),
                    "u.id",
                    "u.created_at DESC, u.id DESC",
                ),
            };
            let (items, total) = fetch_page(c, &spec, &q, update_row).await?;
            Ok(Page { items, total })
        }

        async fn find_update(c: &mut Conn, incident: IncidentId, id: UpdateId) -> Res<IncidentUpdate> {
            let sql = format!(
                "SELECT {UPDATE_COLUMNS} FROM incident_updates u WHERE u.id = ? AND u.incident_id = ?"
            );
            match fetch_opt(
                c,
                &sql,
                vec![Arg::Int(id.get()), Arg::Int(incident.get())],
                update_row,
            )
            .await?
            {
                Some(u) => Ok(u),
                None => not_found(Entity::IncidentUpdate),
            }
        }

        async fn get_update(c: &mut Conn, incident: IncidentId, id: UpdateId) -> Res<IncidentUpdate> {
            if !incident_is_live(c, incident, false).await? {
                return not_found(Entity::Incident);
            }
            find_update(c, incident, id).await
        }

        async fn create_update(
            c: &mut Conn,
            incident: IncidentId,
            new: NewIncidentUpdate,
        ) -> Res<IncidentUpdate> {
            if !incident_is_live(c, incident, true).await? {
                return not_found(Entity::Incident);
            }
            let at = now_secs();
            let id = insert(
                c,
                "INSERT INTO incident_updates (incident_id, status, message, message_html, user_id, \
                 created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                vec![
                    incident.get().into(),
                    new.status.as_i64().into(),
                    new.message.source.into(),
                    new.message.html.as_str().into(),
                    new.user_id.map(UserId::get).into(),
                    at.into(),
                    at.into(),
                ],
            )
            .await?;
            execute(
                c,
                "UPDATE incidents SET status = ?, updated_at = ? WHERE id = ?",
                vec![
                    Arg::Int(new.status.as_i64()),
                    Arg::Int(at),
                    Arg::Int(incident.get()),
                ],
            )
            .await?;
            enqueue(c, new.notice, Some(incident.get()), None, at).await?;
            find_update(c, incident, UpdateId(id)).await
        }

        async fn update_update(
            c: &mut Conn,
            incident: IncidentId,
            id: UpdateId,
            changes: IncidentUpdateChanges,
        ) -> Res<IncidentUpdate> {
            if !incident_is_live(c, incident, true).await? {
                return not_found(Entity::Incident);
            }
            find_update(c, incident, id).await?;
            let mut set = Set::default();
            set.set_some("status", changes.status.map(i64::from));
            if let Some(message) = changes.message {
                set.set("message", message.source);
                set.set("message_html", message.html.as_str());
            }
            set.set_some("user_id", changes.user_id.map(UserId::get));
            set.set("updated_at", now_secs());
            update_set(c, set, "incident_updates", id.get()).await?;
            find_update(c, incident, id).await
        }

        async fn delete_update(c: &mut Conn, incident: IncidentId, id: UpdateId) -> Res<()> {
            if !incident_is_live(c, incident, true).await? {
                return not_found(Entity::Incident);
            }
            let deleted = execute(
                c,
                "DELETE FROM incident_updates WHERE id = ? AND incident_id = ?",
                vec![Arg::Int(id.get()), Arg::Int(incident.get())],
            )
            .await?;
            if deleted == 0 {
                return not_found(Entity::IncidentUpdate);
            }
            Ok(())
        }

        // ------------------------------------------------------------------ templates

        const TEMPLATE_COLUMNS: &str = "t.id, t.name, t.slug, t.template, t.created_at, t.updated_at";

        fn template_row(r: &DbRow) -> Result<IncidentTemplate, sqlx::Error> {
            Ok(IncidentTemplate {
                id: TemplateId(r.try_get(0)?),
                name: text(r, 1)?,
                slug: text(r, 2)?,
                template: text(r, 3)?,
                created_at: ts(r, 4)?,
                updated_at: ts(r, 5)?,
            })
        }

        fn template_sort(s: TemplateSort) -> &'static str {
            match s {
                TemplateSort::Id => "t.id",
                TemplateSort::Name => "t.name",
                TemplateSort::Slug => "t.slug",
            }
        }

        async fn list_templates(
            c: &mut Conn,
            q: ListQuery<TemplateSort, ()>,
        ) -> Res<Page<IncidentTemplate>> {
            let w = Where::default();
            let spec = PageSpec {
                columns: TEMPLATE_COLUMNS,
                from: "incident_templates t",
                filter: &w,
                order: order_by(D, q.sort.map(|(s, o)| (template_sort(s), o)), "t.id", "t.id ASC"),
            };
            let (items, total) = fetch_page(c, &spec, &q, template_row).await?;
            Ok(Page { items, total })
        }

        async fn get_template(c: &mut Conn, id: TemplateId) -> Res<IncidentTemplate> {
            let sql = format!("SELECT {TEMPLATE_COLUMNS} FROM incident_templates t WHERE t.id = ?");
            match fetch_opt(c, &sql, vec![Arg::Int(id.get())], template_row).await? {
                Some(t) => Ok(t),
                None => not_found(Entity::Template),
            }
        }

        async fn get_template_by_slug(c: &mut Conn, slug: String) -> Res<IncidentTemplate> {
            let sql = format!("SELECT {TEMPLATE_COLUMNS} FROM incident_templates t WHERE t.slug = ?");
            match fetch_opt(c, &sql, vec![Arg::Text(slug)], template_row).await? {
                Some(t) => Ok(t),
                None => not_found(Entity::Template),
            }
        }

        async fn create_template(c: &mut Conn, new: NewTemplate) -> Res<IncidentTemplate> {
            let at = now_secs();
            let id = insert(
                c,
                "INSERT INTO incident_templates (name, slug, template, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?)",
                vec![
                    new.name.into(),
                    new.slug.into(),
                    new.template.into(),
                    at.into(),
                    at.into(),
                ],
            )
            .await?;
            get_template(c, TemplateId(id)).await
        }

        async fn update_template(
            c: &mut Conn,
            id: TemplateId,
            changes: TemplateChanges,
        ) -> Res<IncidentTemplate> {
            get_template(c, id).await?;
            let mut set = Set::default();
            set.set_some("name", changes.name);
            set.set_some("slug", changes.slug);
            set.set_some("template", changes.template);
            set.set("updated_at", now_secs());
            update_set(c, set, "incident_templates", id.get()).await?;
            get_template(c, id).await
        }

        async fn delete_template(c: &mut Conn, id: TemplateId) -> Res<()> {
            let deleted = execute(
                c,
                "DELETE FROM incident_templates WHERE id = ?",
                vec![Arg::Int(id.get())],
            )
            .await?;
            if deleted == 0 {
                return not_found(Entity::Template);
            }
            Ok(())
        }

        // ------------------------------------------------------------------ schedules

        const SCHEDULE_COLUMNS: &str = "s.id, s.name, s.message, s.message_html, s.status, \
             s.scheduled_at, s.completed_at, s.created_at, s.updated_at, s.announced";

        fn schedule_row(r: &DbRow) -> Result<Schedule, sqlx::Error> {
            Ok(Schedule {
                id: ScheduleId(r.try_get(0)?),
                name: text(r, 1)?,
                message: opt_text(r, 2)?,
                message_html: opt_text(r, 3)?.map(SafeHtml::from_stored),
                status: en(r, 4)?,
                scheduled_at: ts(r, 5)?,
                completed_at: opt_ts(r, 6)?,
                announced: Announced::from_i64(r.try_get(9)?),
                components: Vec::new(),
                created_at: ts(r, 7)?,
                updated_at: ts(r, 8)?,
            })
        }

        async fn announce_schedule(
            c: &mut Conn,
            id: ScheduleId,
            from: Announced,
            to: Announced,
            notice: Option<Notice>,
        ) -> Res<bool> {
            let moved = execute(
                c,
                "UPDATE schedules SET announced = ? WHERE id = ? AND announced = ? \
                 AND deleted_at IS NULL",
                vec![Arg::Int(to.as_i64()), Arg::Int(id.get()), Arg::Int(from.as_i64())],
            )
            .await?
                == 1;
            if moved {
                enqueue(c, notice, Some(id.get()), None, now_secs()).await?;
            }
            Ok(moved)
        }

        fn schedule_sort(s: ScheduleSort) -> &'static str {
            match s {
                ScheduleSort::Id => "s.id",
                ScheduleSort::Name => "s.name",
                ScheduleSort::Status => "s.status",
                ScheduleSort::ScheduledAt => "s.scheduled_at",
                ScheduleSort::CompletedAt => "s.completed_at",
                ScheduleSort::CreatedAt => "s.created_at",
                ScheduleSort::UpdatedAt => "s.updated_at",
            }
        }

        async fn fill_schedule_components(c: &mut Conn, schedules: &mut [Schedule]) -> Res<()> {
            let mut by_schedule: HashMap<i64, Vec<ScheduleComponent>> = HashMap::new();
            for chunk in schedules.chunks(CHUNK) {
                let mut w = Where::default();
                w.with_list(
                    |ph| format!("schedule_id IN ({ph})"),
                    ints(chunk.iter().map(|s| s.id.get())),
                );
                let sql = format!(
                    "SELECT id, schedule_id, component_id, component_status, created_at, updated_at \
                     FROM schedule_components WHERE {} ORDER BY id",
                    w.sql()
                );
                let rows = fetch_all(c, &sql, w.args, |r| {
                    Ok(ScheduleComponent {
                        id: r.try_get(0)?,
                        schedule_id: ScheduleId(r.try_get(1)?),
                        component_id: ComponentId(r.try_get(2)?),
                        component_status: en(r, 3)?,
                        created_at: ts(r, 4)?,
                        updated_at: ts(r, 5)?,
                    })
                })
                .await?;
                for sc in rows {
                    by_schedule.entry(sc.schedule_id.get()).or_default().push(sc);
                }
            }
            for s in schedules {
                s.components = by_schedule.remove(&s.id.get()).unwrap_or_default();
            }
            Ok(())
        }

        async fn check_schedule_components(
            c: &mut Conn,
            list: &[(ComponentId, cachet_core::enums::ComponentStatus)],
        ) -> Res<()> {
            for (component, _) in list {
                if !component_is_live(c, *component).await? {
                    return not_found(Entity::Component);
                }
            }
            Ok(())
        }

        async fn insert_schedule_components(
            c: &mut Conn,
            id: ScheduleId,
            list: &[(ComponentId, cachet_core::enums::ComponentStatus)],
        ) -> Res<()> {
            let at = now_secs();
            for (component, status) in list {
                execute(
                    c,
                    "INSERT INTO schedule_components (schedule_id, component_id, component_status, \
                     created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                    vec![
                        Arg::Int(id.get()),
                        Arg::Int(component.get()),
                        Arg::Int(status.as_i64()),
                        Arg::Int(at),
                        Arg::Int(at),
                    ],
                )
                .await?;
            }
            Ok(())
        }

        async fn list_schedules(c: &mut Conn, q: ListQuery<ScheduleSort, ()>) -> Res<Page<Schedule>> {
            let mut w = Where::default();
            w.raw("s.deleted_at IS NULL");
            let spec = PageSpec {
                columns: SCHEDULE_COLUMNS,
                from: "schedules s",
                filter: &w,
                order: order_by(D, q.sort.map(|(s, o)| (schedule_sort(s), o)), "s.id", "s.id ASC"),
            };
            let (mut items, total) = fetch_page(c, &spec, &q, schedule_row).await?;
            fill_schedule_components(c, &mut items).await?;
            Ok(Page { items, total })
        }

        async fn get_schedule(c: &mut Conn, id: ScheduleId) -> Res<Schedule> {
            let sql = format!(
                "SELECT {SCHEDULE_COLUMNS} FROM schedules s WHERE s.id = ? AND s.deleted_at IS NULL"
            );
            let Some(found) = fetch_opt(c, &sql, vec![Arg::Int(id.get())], schedule_row).await?
            else {
                return not_found(Entity::Schedule);
            };
            let mut one = [found];
            fill_schedule_components(c, &mut one).await?;
            let [found] = one;
            Ok(found)
        }

        async fn schedules_for_overview(c: &mut Conn, since: DateTime<Utc>) -> Res<Vec<Schedule>> {
            let sql = format!(
                "SELECT {SCHEDULE_COLUMNS} FROM schedules s WHERE s.deleted_at IS NULL \
                   AND (s.status <> ? OR s.completed_at >= ? OR s.scheduled_at >= ?) \
                 ORDER BY s.scheduled_at, s.id"
            );
            let since = secs_ceil(since);
            let mut items = fetch_all(
                c,
                &sql,
                vec![
                    Arg::Int(ScheduleStatus::Complete.as_i64()),
                    Arg::Int(since),
                    Arg::Int(since),
                ],
                schedule_row,
            )
            .await?;
            fill_schedule_components(c, &mut items).await?;
            Ok(items)
        }

        async fn create_schedule(c: &mut Conn, new: NewSchedule) -> Res<Schedule> {
            check_schedule_components(c, &new.components).await?;
            let at = now_secs();
            let (message, html) = match new.message {
                Some(m) => (Some(m.source), Some(m.html.as_str().to_owned())),
                None => (None, None),
            };
            let id = insert(
                c,
                "INSERT INTO schedules (name, message, message_html, status, scheduled_at, completed_at, \
                 created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                vec![
                    new.name.into(),
                    message.into(),
                    html.into(),
                    new.status.as_i64().into(),
                    secs(new.scheduled_at).into(),
                    new.completed_at.map(secs).into(),
                    at.into(),
                    at.into(),
                ],
            )
            .await?;
            let id = ScheduleId(id);
            insert_schedule_components(c, id, &new.components).await?;
            enqueue(c, new.notice, Some(id.get()), None, at).await?;
            get_schedule(c, id).await
        }

        async fn update_schedule(
            c: &mut Conn,
            id: ScheduleId,
            changes: ScheduleChanges,
        ) -> Res<Schedule> {
            get_schedule(c, id).await?;
            if let Some(list) = &changes.components {
                check_schedule_components(c, list).await?;
            }
            let mut set = Set::default();
            set.set_some("name", changes.name);
            if let Some(message) = changes.message {
                let (source, html) = match message {
                    Some(m) => (Some(m.source), Some(m.html.as_str().to_owned())),
                    None => (None, None),
                };
                set.set("message", source);
                set.set("message_html", html);
            }
            set.set_some("status", changes.status.map(i64::from));
            set.set_some("scheduled_at", changes.scheduled_at.map(secs));
            if let Some(completed) = changes.completed_at {
                set.set("completed_at", completed.map(secs));
            }
            set.set("updated_at", now_secs());
            update_set(c, set, "schedules", id.get()).await?;
            if let Some(list) = changes.components {
                execute(
                    c,
                    "DELETE FROM schedule_components WHERE schedule_id = ?",
                    vec![Arg::Int(id.get())],
                )
                .await?;
                insert_schedule_components(c, id, &list).await?;
            }
            get_schedule(c, id).await
        }

        async fn delete_schedule(c: &mut Conn, id: ScheduleId) -> Res<()> {
            let changed = execute(
                c,
                "UPDATE schedules SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
                vec![Arg::Int(now_secs()), Arg::Int(id.get())],
            )
            .await?;
            if changed == 0 {
                return not_found(Entity::Schedule);
            }
            Ok(())
        }

        // ------------------------------------------------------------------ metrics

        const METRIC_COLUMNS: &str = "m.id, m.name, m.suffix, m.description, m.default_value, m.calc_type, \
             m.display_chart, m.places, m.default_view, m.threshold, m.position, m.visible, \
             m.created_at, m.updated_at";

        fn metric_row(r: &DbRow) -> Result<Metric, sqlx::Error> {
            Ok(Metric {
                id: MetricId(r.try_get(0)?),
                name: text(r, 1)?,
                suffix: text(r, 2)?,
                description: text(r, 3)?,
                default_value: r.try_get(4)?,
                calc_type: en(r, 5)?,
                display_chart: r.try_get(6)?,
                places: small(r, 7)?,
                default_view: en(r, 8)?,
                threshold: small(r, 9)?,
                order: r.try_get(10)?,
                visible: en(r, 11)?,
                created_at: ts(r, 12)?,
                updated_at: ts(r, 13)?,
            })
        }

        fn metric_sort(s: MetricSort) -> &'static str {
            match s {
                MetricSort::Id => "m.id",
                MetricSort::Name => "m.name",
                MetricSort::DisplayChart => "m.display_chart",
                MetricSort::DefaultValue => "m.default_value",
                MetricSort::CalcType => "m.calc_type",
                MetricSort::Order => "m.position",
                MetricSort::Visible => "m.visible",
            }
        }

        const POINT_COLUMNS: &str = "p.id, p.metric_id, p.value, p.counter, p.created_at, p.updated_at";

        fn point_row(r: &DbRow) -> Result<MetricPoint, sqlx::Error> {
            Ok(MetricPoint {
                id: PointId(r.try_get(0)?),
                metric_id: MetricId(r.try_get(1)?),
                value: r.try_get(2)?,
                counter: r.try_get(3)?,
                created_at: ts(r, 4)?,
                updated_at: ts(r, 5)?,
            })
        }

        fn point_sort(s: PointSort) -> &'static str {
            match s {
                PointSort::Id => "p.id",
                PointSort::Value => "p.value",
                PointSort::CreatedAt => "p.created_at",
            }
        }

        async fn metric_exists(c: &mut Conn, id: MetricId, lock: bool) -> Res<bool> {
            let sql = if lock {
                "SELECT 1 FROM metrics WHERE id = ? FOR UPDATE"
            } else {
                "SELECT 1 FROM metrics WHERE id = ?"
            };
            exists(c, sql, vec![Arg::Int(id.get())]).await
        }

        async fn list_metrics(c: &mut Conn, q: ListQuery<MetricSort, MetricFilter>) -> Res<Page<Metric>> {
            let mut w = Where::default();
            if q.filter.public_only {
                w.raw("m.visible = 1");
            }
            let spec = PageSpec {
                columns: METRIC_COLUMNS,
                from: "metrics m",
                filter: &w,
                order: order_by(D, q.sort.map(|(s, o)| (metric_sort(s), o)), "m.id", "m.id ASC"),
            };
            let (items, total) = fetch_page(c, &spec, &q, metric_row).await?;
            Ok(Page { items, total })
        }

        async fn get_metric(c: &mut Conn, id: MetricId) -> Res<Metric> {
            let sql = format!("SELECT {METRIC_COLUMNS} FROM metrics m WHERE m.id = ?");
            match fetch_opt(c, &sql, vec![Arg::Int(id.get())], metric_row).await? {
                Some(m) => Ok(m),
                None => not_found(Entity::Metric),
            }
        }

        async fn create_metric(c: &mut Conn, new: NewMetric) -> Res<Metric> {
            let at = now_secs();
            let id = insert(
                c,
                "INSERT INTO metrics (name, suffix, description, default_value, calc_type, display_chart, \
                 places, default_view, threshold, position, visible, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                vec![
                    new.name.into(),
                    new.suffix.into(),
                    new.description.into(),
                    new.default_value.into(),
                    new.calc_type.as_i64().into(),
                    new.display_chart.into(),
                    new.places.into(),
                    new.default_view.as_i64().into(),
                    new.threshold.into(),
                    new.order.into(),
                    new.visible.as_i64().into(),
                    at.into(),
                    at.into(),
                ],
            )
            .await?;
            get_metric(c, MetricId(id)).await
        }

        async fn update_metric(c: &mut Conn, id: MetricId, changes: MetricChanges) -> Res<Metric> {
            get_metric(c, id).await?;
            let mut set = Set::default();
            set.set_some("name", changes.name);
            set.set_some("suffix", changes.suffix);
            set.set_some("description", changes.description);
            set.set_some("default_value", changes.default_value);
            set.set_some("calc_type", changes.calc_type.map(i64::from));
            set.set_some("display_chart", changes.display_chart);
            set.set_some("places", changes.places);
            set.set_some("default_view", changes.default_view.map(i64::from));
            set.set_some("threshold", changes.threshold);
            set.set_some("position", changes.order);
            set.set_some("visible", changes.visible.map(i64::from));
            set.set("updated_at", now_secs());
            update_set(c, set, "metrics", id.get()).await?;
            get_metric(c, id).await
        }

        async fn delete_metric(c: &mut Conn, id: MetricId) -> Res<()> {
            execute(
                c,
                "DELETE FROM metric_points WHERE metric_id = ?",
                vec![Arg::Int(id.get())],
            )
            .await?;
            let deleted = execute(c, "DELETE FROM metrics WHERE id = ?", vec![Arg::Int(id.get())]).await?;
            if deleted == 0 {
                return not_found(Entity::Metric);
            }
            Ok(())
        }

        async fn list_points(
            c: &mut Conn,
            metric: MetricId,
            q: ListQuery<PointSort, ()>,
        ) -> Res<Page<MetricPoint>> {
            if !metric_exists(c, metric, false).await? {
                return not_found(Entity::Metric);
            }
            let mut w = Where::default();
            w.bind("p.metric_id = ?", metric.get());
            let spec = PageSpec {
                columns: POINT_COLUMNS,
                from: "metric_points p",
                filter: &w,
                order: order_by(
                    D,
                    q.sort.map(|(s, o)| (point_sort(s), o)),
                    "p.id",
                    "p.created_at DESC, p.id DESC",
                ),
            };
            let (items, total) = fetch_page(c, &spec, &q, point_row).await?;
            Ok(Page { items, total })
        }

        async fn get_point(c: &mut Conn, metric: MetricId, id: PointId) -> Res<MetricPoint> {
            let sql = format!(
                "SELECT {POINT_COLUMNS} FROM metric_points p WHERE p.id = ? AND p.metric_id = ?"
            );
            match fetch_opt(
                c,
                &sql,
                vec![Arg::Int(id.get()), Arg::Int(metric.get())],
                point_row,
            )
            .await?
            {
                Some(p) => Ok(p),
                None => not_found(Entity::MetricPoint),
            }
        }

        async fn record_point(c: &mut Conn, metric: MetricId, new: NewPoint) -> Res<MetricPoint> {
            // The metric's lock makes "find a point to count into, else add one" atomic.
            if !metric_exists(c, metric, true).await? {
                return not_found(Entity::Metric);
            }
            let at = now_secs();
            let existing = fetch_opt(
                c,
                "SELECT id FROM metric_points WHERE metric_id = ? AND value = ? AND created_at >= ? \
                 ORDER BY id LIMIT 1",
                vec![
                    Arg::Int(metric.get()),
                    Arg::Float(new.value),
                    Arg::Int(secs_ceil(new.dedup_since)),
                ],
                |r| r.try_get::<i64, _>(0),
            )
            .await?;
            let id = match existing {
                Some(id) => {
                    execute(
                        c,
                        "UPDATE metric_points SET counter = counter + 1, updated_at = ? WHERE id = ?",
                        vec![Arg::Int(at), Arg::Int(id)],
                    )
                    .await?;
                    id
                }
                None => {
                    insert(
                        c,
                        "INSERT INTO metric_points (metric_id, value, counter, created_at, updated_at) \
                         VALUES (?, ?, 1, ?, ?)",
                        vec![
                            Arg::Int(metric.get()),
                            Arg::Float(new.value),
                            Arg::Int(secs(new.created_at)),
                            Arg::Int(at),
                        ],
                    )
                    .await?
                }
            };
            get_point(c, metric, PointId(id)).await
        }

        async fn update_point(
            c: &mut Conn,
            metric: MetricId,
            id: PointId,
            changes: PointChanges,
        ) -> Res<MetricPoint> {
            get_point(c, metric, id).await?;
            let mut set = Set::default();
            set.set_some("value", changes.value);
            set.set_some("created_at", changes.created_at.map(secs));
            set.set("updated_at", now_secs());
            update_set(c, set, "metric_points", id.get()).await?;
            get_point(c, metric, id).await
        }

        async fn delete_point(c: &mut Conn, metric: MetricId, id: PointId) -> Res<()> {
            let deleted = execute(
                c,
                "DELETE FROM metric_points WHERE id = ? AND metric_id = ?",
                vec![Arg::Int(id.get()), Arg::Int(metric.get())],
            )
            .await?;
            if deleted == 0 {
                return not_found(Entity::MetricPoint);
            }
            Ok(())
        }

        async fn metric_sums(c: &mut Conn, metric: MetricId, window: Window) -> Res<Vec<BucketSums>> {
            // A width below one second is read as one second, as in the reference store.
            let bucket = window.bucket_secs.max(1);
            let div = D.div();
            let sql = format!(
                "SELECT bucket, SUM(value * counter), SUM(value), COUNT(*) FROM ( \
                   SELECT (created_at + ?) {div} ? - (CASE WHEN (created_at + ?) % ? < 0 THEN 1 ELSE 0 END) \
                          AS bucket, value, counter \
                   FROM metric_points WHERE metric_id = ? AND created_at >= ? AND created_at < ?) AS windowed \
                 GROUP BY bucket ORDER BY bucket"
            );
            fetch_all(
                c,
                &sql,
                vec![
                    Arg::Int(window.offset_secs),
                    Arg::Int(bucket),
                    Arg::Int(window.offset_secs),
                    Arg::Int(bucket),
                    Arg::Int(metric.get()),
                    Arg::Int(secs_ceil(window.from)),
                    Arg::Int(secs_ceil(window.to)),
                ],
                |r| {
                    Ok(BucketSums {
                        bucket: r.try_get(0)?,
                        sum_product: r.try_get(1)?,
                        sum_value: r.try_get(2)?,
                        points: r.try_get(3)?,
                    })
                },
            )
            .await
        }

        // ------------------------------------------------------------------ subscribers

        const SUBSCRIBER_COLUMNS: &str = "s.id, s.email, s.verify_code_hash, s.phone_number, \
             s.slack_webhook_url, s.verified_at, s.is_global, s.created_at, s.updated_at, \
             s.email_sealed";

        fn subscriber_row(r: &DbRow) -> Result<StoredSubscriber, sqlx::Error> {
            Ok(Subscriber {
                id: SubscriberId(r.try_get(0)?),
                // A row from before sealing has no sealed part: "" (the service reads
                // `lookup` as the address then).
                email: SealedEmail {
                    lookup: text(r, 1)?,
                    sealed: opt_text(r, 9)?.unwrap_or_default(),
                },
                verify_code_hash: digest(r, 2)?,
                phone_number: opt_text(r, 3)?,
                slack_webhook_url: opt_text(r, 4)?,
                verified_at: opt_ts(r, 5)?,
                global: r.try_get(6)?,
                subscriptions: Vec::new(),
                created_at: ts(r, 7)?,
                updated_at: ts(r, 8)?,
            })
        }

        fn subscriber_sort(s: SubscriberSort) -> &'static str {
            match s {
                SubscriberSort::Id => "s.id",
                SubscriberSort::CreatedAt => "s.created_at",
            }
        }

        async fn fill_subscriptions(c: &mut Conn, subscribers: &mut [StoredSubscriber]) -> Res<()> {
            let mut by_subscriber: HashMap<i64, Vec<Subscription>> = HashMap::new();
            for chunk in subscribers.chunks(CHUNK) {
                let mut w = Where::default();
                w.with_list(
                    |ph| format!("subscriber_id IN ({ph})"),
                    ints(chunk.iter().map(|s| s.id.get())),
                );
                let sql = format!(
                    "SELECT id, subscriber_id, component_id, created_at, updated_at FROM subscriptions \
                     WHERE {} ORDER BY id",
                    w.sql()
                );
                let rows = fetch_all(c, &sql, w.args, |r| {
                    Ok(Subscription {
                        id: SubscriptionId(r.try_get(0)?),
                        subscriber_id: SubscriberId(r.try_get(1)?),
                        component_id: ComponentId(r.try_get(2)?),
                        created_at: ts(r, 3)?,
                        updated_at: ts(r, 4)?,
                    })
                })
                .await?;
                for s in rows {
                    by_subscriber.entry(s.subscriber_id.get()).or_default().push(s);
                }
            }
            for s in subscribers {
                s.subscriptions = by_subscriber.remove(&s.id.get()).unwrap_or_default();
            }
            Ok(())
        }

        async fn find_subscriber_by_lookup(c: &mut Conn, lookup: &str) -> Res<Option<StoredSubscriber>> {
            let sql = format!("SELECT {SUBSCRIBER_COLUMNS} FROM subscribers s WHERE s.email = ?");
            match fetch_opt(c, &sql, vec![Arg::from(lookup)], subscriber_row).await? {
                Some(s) => {
                    let mut one = [s];
                    fill_subscriptions(c, &mut one).await?;
                    let [s] = one;
                    Ok(Some(s))
                }
                None => Ok(None),
            }
        }

        async fn find_subscriber(c: &mut Conn, lookup: String) -> Res<StoredSubscriber> {
            match find_subscriber_by_lookup(c, &lookup).await? {
                Some(s) => Ok(s),
                None => not_found(Entity::Subscriber),
            }
        }

        async fn unsealed_subscriber_emails(c: &mut Conn) -> Res<Vec<(SubscriberId, String)>> {
            fetch_all(
                c,
                "SELECT id, email FROM subscribers WHERE email_sealed IS NULL ORDER BY id",
                Vec::new(),
                |r| Ok((SubscriberId(r.try_get(0)?), text(r, 1)?)),
            )
            .await
        }

        async fn seal_subscriber_email(c: &mut Conn, id: SubscriberId, email: SealedEmail) -> Res<()> {
            get_subscriber(c, id).await?;
            if exists(
                c,
                "SELECT 1 FROM subscribers WHERE email = ? AND id <> ?",
                vec![email.lookup.as_str().into(), id.get().into()],
            )
            .await?
            {
                return Err(Fail::Store(StoreError::Conflict("email is taken".into())));
            }
            execute(
                c,
                "UPDATE subscribers SET email = ?, email_sealed = ? WHERE id = ?",
                vec![email.lookup.into(), email.sealed.into(), id.get().into()],
            )
            .await?;
            Ok(())
        }

        async fn list_subscribers(c: &mut Conn, q: ListQuery<SubscriberSort, ()>) -> Res<Page<StoredSubscriber>> {
            let w = Where::default();
            let spec = PageSpec {
                columns: SUBSCRIBER_COLUMNS,
                from: "subscribers s",
                filter: &w,
                order: order_by(D, q.sort.map(|(s, o)| (subscriber_sort(s), o)), "s.id", "s.id ASC"),
            };
            let (mut items, total) = fetch_page(c, &spec, &q, subscriber_row).await?;
            fill_subscriptions(c, &mut items).await?;
            Ok(Page { items, total })
        }

        async fn get_subscriber(c: &mut Conn, id: SubscriberId) -> Res<StoredSubscriber> {
            let sql = format!("SELECT {SUBSCRIBER_COLUMNS} FROM subscribers s WHERE s.id = ?");
            match fetch_opt(c, &sql, vec![Arg::Int(id.get())], subscriber_row).await? {
                Some(s) => {
                    let mut one = [s];
                    fill_subscriptions(c, &mut one).await?;
                    let [s] = one;
                    Ok(s)
                }
                None => not_found(Entity::Subscriber),
            }
        }

        async fn create_subscriber(c: &mut Conn, new: NewSubscriber) -> Res<(StoredSubscriber, bool)> {
            if let Some(existing) = find_subscriber_by_lookup(c, &new.email.lookup).await? {
                return Ok((existing, false));
            }
            let at = now_secs();
            let inserted = insert(
                c,
                "INSERT INTO subscribers (email, email_sealed, verify_code_hash, verified_at, is_global, \
                 created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                vec![
                    new.email.lookup.as_str().into(),
                    new.email.sealed.as_str().into(),
                    new.verify_code_hash.to_hex().into(),
                    new.verified_at.map(secs).into(),
                    new.global.into(),
                    at.into(),
                    at.into(),
                ],
            )
            .await;
            let id = match inserted {
                Ok(id) => SubscriberId(id),
                // Another transaction added the address since the lookup above. This one
                // is spoiled (PostgreSQL aborts it), so it is run again from the start,
                // where the lookup finds that subscriber.
                Err(e) if e.is_unique_violation() => return Err(Fail::Again),
                Err(e) => return Err(e),
            };
            subscribe(c, id, new.subscribe_to, at).await?;
            enqueue(c, new.notice, Some(id.get()), Some(id), at).await?;
            Ok((get_subscriber(c, id).await?, true))
        }

        /// Subscribes `id` to `to` (live components only), at `at`.
        async fn subscribe(c: &mut Conn, id: SubscriberId, to: SubscribeTo, at: i64) -> Res<()> {
            // The components are locked before their subscriptions are written, in id
            // order, so a concurrent delete_component either runs first (the component is
            // no longer live here) or after this commits (and deletes these subscriptions).
            let targets: Vec<ComponentId> = match to {
                SubscribeTo::AllComponents => {
                    fetch_all(
                        c,
                        "SELECT id FROM components WHERE deleted_at IS NULL ORDER BY id FOR UPDATE",
                        Vec::new(),
                        |r| r.try_get::<i64, _>(0).map(ComponentId),
                    )
                    .await?
                }
                SubscribeTo::Components(ids) => {
                    let mut order: Vec<ComponentId> = ids.clone();
                    order.sort_unstable();
                    order.dedup();
                    let mut live = std::collections::HashSet::new();
                    for component in order {
                        if lock_component(c, component).await? {
                            live.insert(component);
                        }
                    }
                    ids.into_iter().filter(|id| live.contains(id)).collect()
                }
            };
            for component in targets {
                execute(
                    c,
                    "INSERT INTO subscriptions (subscriber_id, component_id, created_at, updated_at) \
                     VALUES (?, ?, ?, ?)",
                    vec![
                        Arg::Int(id.get()),
                        Arg::Int(component.get()),
                        Arg::Int(at),
                        Arg::Int(at),
                    ],
                )
                .await?;
            }
            Ok(())
        }

        async fn verify_subscriber(
            c: &mut Conn,
            id: SubscriberId,
            at: i64,
            notice: Option<Notice>,
        ) -> Res<bool> {
            get_subscriber(c, id).await?;
            let changed = execute(
                c,
                "UPDATE subscribers SET verified_at = ?, updated_at = ? WHERE id = ? AND verified_at IS NULL",
                vec![Arg::Int(at), Arg::Int(at), Arg::Int(id.get())],
            )
            .await?;
            if changed == 1 {
                enqueue(c, notice, Some(id.get()), None, at).await?;
            }
            Ok(changed == 1)
        }

        async fn set_subscriptions(
            c: &mut Conn,
            id: SubscriberId,
            global: bool,
            to: SubscribeTo,
        ) -> Res<StoredSubscriber> {
            let locked = exists(
                c,
                "SELECT id FROM subscribers WHERE id = ? FOR UPDATE",
                vec![Arg::Int(id.get())],
            )
            .await?;
            if !locked {
                return not_found(Entity::Subscriber);
            }
            let at = now_secs();
            execute(
                c,
                "DELETE FROM subscriptions WHERE subscriber_id = ?",
                vec![Arg::Int(id.get())],
            )
            .await?;
            execute(
                c,
                "UPDATE subscribers SET is_global = ?, updated_at = ? WHERE id = ?",
                vec![Arg::Bool(global), Arg::Int(at), Arg::Int(id.get())],
            )
            .await?;
            subscribe(c, id, to, at).await?;
            get_subscriber(c, id).await
        }

        async fn delete_subscriber(
            c: &mut Conn,
            id: SubscriberId,
            notice: Option<Notice>,
        ) -> Res<()> {
            execute(
                c,
                "DELETE FROM subscriptions WHERE subscriber_id = ?",
                vec![Arg::Int(id.get())],
            )
            .await?;
            let deleted = execute(c, "DELETE FROM subscribers WHERE id = ?", vec![Arg::Int(id.get())]).await?;
            if deleted == 0 {
                return not_found(Entity::Subscriber);
            }
            enqueue(c, notice, Some(id.get()), None, now_secs()).await
        }

        async fn delete_subscription(c: &mut Conn, id: SubscriptionId) -> Res<()> {
            let deleted = execute(c, "DELETE FROM subscriptions WHERE id = ?", vec![Arg::Int(id.get())]).await?;
            if deleted == 0 {
                return not_found(Entity::Subscription);
            }
            Ok(())
        }

        // ------------------------------------------------------------------ users and tokens

        const USER_COLUMNS: &str = "u.id, u.username, u.email, u.password_hash, u.role, u.active, \
             u.totp_secret, u.totp_enabled_at, u.totp_last_step, u.created_at, u.updated_at";

        fn user_row(r: &DbRow) -> Result<User, sqlx::Error> {
            Ok(User {
                id: UserId(r.try_get(0)?),
                username: text(r, 1)?,
                email: Email::from_stored(text(r, 2)?),
                password_hash: PasswordHash::from_phc(text(r, 3)?),
                role: en(r, 4)?,
                active: r.try_get(5)?,
                totp: TotpState {
                    sealed_secret: opt_text(r, 6)?,
                    enabled_at: opt_ts(r, 7)?,
                    last_step: r.try_get(8)?,
                },
                created_at: ts(r, 9)?,
                updated_at: ts(r, 10)?,
            })
        }

        fn user_sort(s: UserSort) -> &'static str {
            match s {
                UserSort::Id => "u.id",
                UserSort::Username => "u.username",
            }
        }

        fn taken_conflict(what: &str) -> Fail {
            Fail::Store(StoreError::Conflict(what.to_owned()))
        }

        /// Whether a user other than `except` has `column` = `value`.
        async fn user_taken(
            c: &mut Conn,
            column: &'static str,
            value: &str,
            except: Option<UserId>,
        ) -> Res<bool> {
            let mut w = Where::default();
            w.bind(
                match column {
                    "username" => "username = ?",
                    _ => "email = ?",
                },
                value,
            );
            if let Some(id) = except {
                w.bind("id <> ?", id.get());
            }
            let sql = format!("SELECT 1 FROM users WHERE {}", w.sql());
            exists(c, &sql, w.args).await
        }

        async fn insert_user(c: &mut Conn, new: &NewUser) -> Res<UserId> {
            // Checked first to name the field; the unique keys stay the last word.
            if user_taken(c, "username", &new.username, None).await? {
                return Err(taken_conflict("username is taken"));
            }
            if user_taken(c, "email", new.email.as_str(), None).await? {
                return Err(taken_conflict("email is taken"));
            }
            let at = now_secs();
            let id = insert(
                c,
                "INSERT INTO users (username, email, password_hash, role, active, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, TRUE, ?, ?)",
                vec![
                    new.username.as_str().into(),
                    new.email.as_str().into(),
                    new.password_hash.as_phc().into(),
                    new.role.as_i64().into(),
                    at.into(),
                    at.into(),
                ],
            )
            .await?;
            Ok(UserId(id))
        }

        async fn get_user(c: &mut Conn, id: UserId) -> Res<User> {
            read_user(c, id, "").await
        }

        /// The user, read plainly (`suffix` "") or locked for this transaction
        /// ("FOR UPDATE").
        async fn read_user(c: &mut Conn, id: UserId, suffix: &'static str) -> Res<User> {
            let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = ? {suffix}");
            match fetch_opt(c, &sql, vec![Arg::Int(id.get())], user_row).await? {
                Some(u) => Ok(u),
                None => not_found(Entity::User),
            }
        }

        async fn create_user(c: &mut Conn, new: NewUser) -> Res<User> {
            let id = insert_user(c, &new).await?;
            get_user(c, id).await
        }

        async fn bootstrap_admin(
            c: &mut Conn,
            user: NewUser,
            token: NewApiToken,
        ) -> Res<Option<(User, ApiToken)>> {
            // One setup at a time, on every instance: the others wait here, then see the admin.
            exists(
                c,
                "SELECT 1 FROM store_locks WHERE name = 'bootstrap' FOR UPDATE",
                Vec::new(),
            )
            .await?;
            if exists(
                c,
                "SELECT 1 FROM users WHERE role = ? FOR UPDATE",
                vec![Arg::Int(Role::Admin.as_i64())],
            )
            .await?
            {
                return Ok(None);
            }
            let id = insert_user(c, &user).await?;
            let token = insert_token(c, id, &token).await?;
            Ok(Some((get_user(c, id).await?, token)))
        }

        async fn find_user(c: &mut Conn, login: String) -> Res<User> {
            // A username match wins over an email match of another user.
            let sql = format!(
                "SELECT {USER_COLUMNS} FROM users u WHERE u.username = ? OR u.email = ? \
                 ORDER BY CASE WHEN u.username = ? THEN 0 ELSE 1 END, u.id LIMIT 1"
            );
            match fetch_opt(
                c,
                &sql,
                vec![login.clone().into(), login.clone().into(), login.into()],
                user_row,
            )
            .await?
            {
                Some(u) => Ok(u),
                None => not_found(Entity::User),
            }
        }

        async fn list_users(c: &mut Conn, q: ListQuery<UserSort, ()>) -> Res<Page<User>> {
            let w = Where::default();
            let spec = PageSpec {
                columns: USER_COLUMNS,
                from: "users u",
                filter: &w,
                order: order_by(D, q.sort.map(|(s, o)| (user_sort(s), o)), "u.id", "u.id ASC"),
            };
            let (items, total) = fetch_page(c, &spec, &q, user_row).await?;
            Ok(Page { items, total })
        }

        async fn update_user(c: &mut Conn, id: UserId, changes: UserChanges) -> Res<User> {
            get_user(c, id).await?;
            if let Some(email) = &changes.email {
                if user_taken(c, "email", email.as_str(), Some(id)).await? {
                    return Err(taken_conflict("email is taken"));
                }
            }
            let mut set = Set::default();
            set.set_some("email", changes.email.map(|e| e.as_str().to_owned()));
            set.set_some(
                "password_hash",
                changes.password_hash.map(|p| p.as_phc().to_owned()),
            );
            set.set_some("role", changes.role.map(i64::from));
            set.set_some("active", changes.active);
            set.set("updated_at", now_secs());
            update_set(c, set, "users", id.get()).await?;
            get_user(c, id).await
        }

        const TOKEN_COLUMNS: &str = "t.id, t.user_id, t.name, t.prefix, t.hash, t.abilities, \
             t.expires_at, t.created_at, t.last_used_at, t.revoked_at";

        fn token_row(r: &DbRow) -> Result<ApiToken, sqlx::Error> {
            Ok(ApiToken {
                id: TokenId(r.try_get(0)?),
                user_id: UserId(r.try_get(1)?),
                name: text(r, 2)?,
                prefix: text(r, 3)?,
                hash: digest(r, 4)?,
                abilities: opt_text(r, 5)?
                    .map(|text| {
                        Abilities::parse(&text)
                            .map_err(|unknown| decode(Corrupt(format!("unknown ability {unknown:?}"))))
                    })
                    .transpose()?,
                expires_at: opt_ts(r, 6)?,
                created_at: ts(r, 7)?,
                last_used_at: opt_ts(r, 8)?,
                revoked_at: opt_ts(r, 9)?,
            })
        }

        async fn get_token(c: &mut Conn, id: TokenId) -> Res<ApiToken> {
            let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens t WHERE t.id = ?");
            match fetch_opt(c, &sql, vec![Arg::Int(id.get())], token_row).await? {
                Some(t) => Ok(t),
                None => not_found(Entity::Token),
            }
        }

        async fn insert_token(c: &mut Conn, user: UserId, new: &NewApiToken) -> Res<ApiToken> {
            let id = insert(
                c,
                "INSERT INTO api_tokens (user_id, name, prefix, hash, abilities, expires_at, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
                vec![
                    user.get().into(),
                    new.name.as_str().into(),
                    new.prefix.as_str().into(),
                    new.hash.to_hex().into(),
                    new.abilities.map(|a| a.to_string()).into(),
                    new.expires_at.map(secs).into(),
                    now_secs().into(),
                ],
            )
            .await?;
            get_token(c, TokenId(id)).await
        }

        async fn create_token(c: &mut Conn, new: NewApiToken) -> Res<ApiToken> {
            get_user(c, new.user_id).await?;
            insert_token(c, new.user_id, &new).await
        }

        async fn find_token(c: &mut Conn, hash: TokenHash) -> Res<(ApiToken, User)> {
            let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens t WHERE t.hash = ?");
            let Some(token) = fetch_opt(c, &sql, vec![Arg::Text(hash.to_hex())], token_row).await?
            else {
                return not_found(Entity::Token);
            };
            let user = get_user(c, token.user_id).await?;
            Ok((token, user))
        }

        async fn list_tokens(c: &mut Conn, user: Option<UserId>) -> Res<Vec<ApiToken>> {
            let mut w = Where::default();
            if let Some(user) = user {
                w.bind("t.user_id = ?", user.get());
            }
            let sql = format!(
                "SELECT {TOKEN_COLUMNS} FROM api_tokens t WHERE {} ORDER BY t.id",
                w.sql()
            );
            fetch_all(c, &sql, w.args, token_row).await
        }

        async fn revoke_token(c: &mut Conn, id: TokenId) -> Res<ApiToken> {
            get_token(c, id).await?;
            execute(
                c,
                "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?",
                vec![Arg::Int(now_secs()), Arg::Int(id.get())],
            )
            .await?;
            get_token(c, id).await
        }

        async fn touch_token(c: &mut Conn, id: TokenId, at: DateTime<Utc>) -> Res<()> {
            // "Rows changed" differs between engines when the value is unchanged (MySQL
            // counts only real changes), so existence is checked by reading.
            get_token(c, id).await?;
            execute(
                c,
                "UPDATE api_tokens SET last_used_at = ? WHERE id = ?",
                vec![Arg::Int(secs(at)), Arg::Int(id.get())],
            )
            .await?;
            Ok(())
        }

        // ------------------------------------------------------------------ two-factor

        async fn lock_user(c: &mut Conn, id: UserId) -> Res<User> {
            read_user(c, id, "FOR UPDATE").await
        }

        async fn begin_totp(c: &mut Conn, id: UserId, sealed: String) -> Res<User> {
            if lock_user(c, id).await?.has_2fa() {
                return Err(taken_conflict("two-factor authentication is already on"));
            }
            execute(
                c,
                "UPDATE users SET totp_secret = ?, totp_enabled_at = NULL, totp_last_step = NULL, \
                 updated_at = ? WHERE id = ?",
                vec![sealed.into(), now_secs().into(), id.get().into()],
            )
            .await?;
            get_user(c, id).await
        }

        async fn replace_recovery_codes(c: &mut Conn, id: UserId, codes: &[TokenHash]) -> Res<()> {
            execute(
                c,
                "DELETE FROM recovery_codes WHERE user_id = ?",
                vec![id.get().into()],
            )
            .await?;
            let mut unique: Vec<String> = codes.iter().map(TokenHash::to_hex).collect();
            unique.sort();
            unique.dedup();
            for code in unique {
                execute(
                    c,
                    "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)",
                    vec![id.get().into(), code.into()],
                )
                .await?;
            }
            Ok(())
        }

        async fn enable_totp(
            c: &mut Conn,
            id: UserId,
            sealed: String,
            step: i64,
            recovery: Vec<TokenHash>,
        ) -> Res<User> {
            let user = lock_user(c, id).await?;
            if user.has_2fa() || user.totp.sealed_secret.as_deref() != Some(sealed.as_str()) {
                return Err(taken_conflict("two-factor enrollment changed meanwhile"));
            }
            let at = now_secs();
            execute(
                c,
                "UPDATE users SET totp_enabled_at = ?, totp_last_step = ?, updated_at = ? WHERE id = ?",
                vec![at.into(), step.into(), at.into(), id.get().into()],
            )
            .await?;
            replace_recovery_codes(c, id, &recovery).await?;
            get_user(c, id).await
        }

        async fn disable_totp(c: &mut Conn, id: UserId) -> Res<User> {
            lock_user(c, id).await?;
            execute(
                c,
                "UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL, \
                 updated_at = ? WHERE id = ?",
                vec![now_secs().into(), id.get().into()],
            )
            .await?;
            replace_recovery_codes(c, id, &[]).await?;
            get_user(c, id).await
        }

        async fn claim_totp_step(c: &mut Conn, id: UserId, step: i64) -> Res<bool> {
            get_user(c, id).await?;
            // The condition makes the value change whenever a row matches, so "rows changed"
            // means the same on both engines.
            let changed = execute(
                c,
                "UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_enabled_at IS NOT NULL \
                 AND (totp_last_step IS NULL OR totp_last_step < ?)",
                vec![step.into(), id.get().into(), step.into()],
            )
            .await?;
            Ok(changed == 1)
        }

        async fn use_recovery_code(
            c: &mut Conn,
            id: UserId,
            code: TokenHash,
            at: DateTime<Utc>,
        ) -> Res<bool> {
            let changed = execute(
                c,
                "UPDATE recovery_codes SET used_at = ? \
                 WHERE user_id = ? AND code_hash = ? AND used_at IS NULL",
                vec![secs(at).into(), id.get().into(), code.to_hex().into()],
            )
            .await?;
            Ok(changed == 1)
        }

        async fn recovery_codes_left(c: &mut Conn, id: UserId) -> Res<u32> {
            let counts = fetch_all(
                c,
                "SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL",
                vec![id.get().into()],
                |r| r.try_get::<i64, _>(0),
            )
            .await?;
            Ok(counts
                .first()
                .map_or(0, |n| u32::try_from(*n).unwrap_or(u32::MAX)))
        }

        // ------------------------------------------------------------------ sessions

        const SESSION_COLUMNS: &str = "hash, user_id, pending, created_at, last_seen_at";

        fn session_row(r: &DbRow) -> Result<Session, sqlx::Error> {
            Ok(Session {
                hash: digest(r, 0)?,
                user_id: UserId(r.try_get(1)?),
                pending: opt_text(r, 2)?,
                created_at: ts(r, 3)?,
                last_seen_at: ts(r, 4)?,
            })
        }

        async fn get_session(c: &mut Conn, hash: TokenHash) -> Res<Session> {
            let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE hash = ?");
            match fetch_opt(c, &sql, vec![Arg::Text(hash.to_hex())], session_row).await? {
                Some(s) => Ok(s),
                None => not_found(Entity::Session),
            }
        }

        async fn create_session(c: &mut Conn, new: NewSession) -> Res<Session> {
            get_user(c, new.user_id).await?;
            execute(
                c,
                "INSERT INTO sessions (hash, user_id, pending, created_at, last_seen_at) \
                 VALUES (?, ?, ?, ?, ?)",
                vec![
                    new.hash.to_hex().into(),
                    new.user_id.get().into(),
                    new.pending.clone().into(),
                    secs(new.created_at).into(),
                    secs(new.last_seen_at).into(),
                ],
            )
            .await?;
            get_session(c, new.hash).await
        }

        async fn touch_session(c: &mut Conn, hash: TokenHash, at: DateTime<Utc>) -> Res<()> {
            execute(
                c,
                "UPDATE sessions SET last_seen_at = ? WHERE hash = ? AND last_seen_at < ?",
                vec![secs(at).into(), hash.to_hex().into(), secs(at).into()],
            )
            .await?;
            Ok(())
        }

        async fn delete_session(c: &mut Conn, hash: TokenHash) -> Res<bool> {
            let n = execute(
                c,
                "DELETE FROM sessions WHERE hash = ?",
                vec![hash.to_hex().into()],
            )
            .await?;
            Ok(n > 0)
        }

        async fn replace_session(
            c: &mut Conn,
            old: TokenHash,
            new: NewSession,
        ) -> Res<Option<Session>> {
            // The delete takes the row lock: a racing replacement waits, then deletes nothing.
            if !delete_session(c, old).await? {
                return Ok(None);
            }
            // A failure here rolls the delete back with the transaction.
            create_session(c, new).await.map(Some)
        }

        async fn delete_user_sessions(
            c: &mut Conn,
            user: UserId,
            keep: Option<TokenHash>,
        ) -> Res<u64> {
            let mut w = Where::default();
            w.bind("user_id = ?", user.get());
            if let Some(keep) = keep {
                w.bind("hash <> ?", keep.to_hex());
            }
            execute(c, &format!("DELETE FROM sessions WHERE {}", w.sql()), w.args).await
        }

        async fn purge_sessions(
            c: &mut Conn,
            created_before: DateTime<Utc>,
            seen_before: DateTime<Utc>,
        ) -> Res<u64> {
            execute(
                c,
                "DELETE FROM sessions WHERE created_at < ? OR last_seen_at < ?",
                vec![
                    secs_ceil(created_before).into(),
                    secs_ceil(seen_before).into(),
                ],
            )
            .await
        }

        // ------------------------------------------------------------------ settings, audit

        async fn load_settings(c: &mut Conn) -> Res<Vec<(String, String)>> {
            fetch_all(
                c,
                "SELECT name, value FROM settings ORDER BY name",
                Vec::new(),
                |r| Ok((text(r, 0)?, text(r, 1)?)),
            )
            .await
        }

        /// Inserts unless present (a no-op on a present key: a concurrent insert is waited
        /// for, not raised as a conflict), then reads with a lock, which sees the committed
        /// row whichever claim made it.
        async fn claim_setting(c: &mut Conn, key: String, value: String) -> Res<String> {
            let insert = match D {
                Dialect::Postgres => {
                    "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING"
                }
                Dialect::MySql => {
                    "INSERT INTO settings (name, value) VALUES (?, ?) \
                     ON DUPLICATE KEY UPDATE name = name"
                }
            };
            execute(c, insert, vec![Arg::Text(key.clone()), Arg::Text(value)]).await?;
            fetch_opt(
                c,
                "SELECT value FROM settings WHERE name = ? FOR UPDATE",
                vec![Arg::Text(key)],
                |r| text(r, 0),
            )
            .await?
            .ok_or_else(|| Fail::from(Corrupt("a claimed setting is missing".to_owned())))
        }

        async fn save_settings(c: &mut Conn, pairs: Vec<(String, String)>) -> Res<()> {
            let sql = match D {
                Dialect::Postgres => {
                    "INSERT INTO settings (name, value) VALUES (?, ?) \
                     ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value"
                }
                Dialect::MySql => {
                    "INSERT INTO settings (name, value) VALUES (?, ?) \
                     ON DUPLICATE KEY UPDATE value = VALUES(value)"
                }
            };
            // In key order (the last value of a repeated key wins), so that two saves take
            // their row locks in the same order and cannot deadlock each other.
            let ordered: std::collections::BTreeMap<String, String> = pairs.into_iter().collect();
            for (key, value) in ordered {
                execute(c, sql, vec![Arg::Text(key), Arg::Text(value)]).await?;
            }
            Ok(())
        }

        const AUDIT_COLUMNS: &str = "a.id, a.at, a.user_id, a.kind, a.detail";

        fn audit_row(r: &DbRow) -> Result<AuditEntry, sqlx::Error> {
            Ok(AuditEntry {
                id: AuditId(r.try_get(0)?),
                at: ts(r, 1)?,
                user_id: r.try_get::<Option<i64>, _>(2)?.map(UserId),
                kind: text(r, 3)?,
                detail: text(r, 4)?,
            })
        }

        fn audit_sort(s: AuditSort) -> &'static str {
            match s {
                AuditSort::Id => "a.id",
                AuditSort::At => "a.at",
            }
        }

        async fn append_audit(c: &mut Conn, entry: NewAuditEntry) -> Res<AuditEntry> {
            let id = insert(
                c,
                "INSERT INTO audit_log (at, user_id, kind, detail) VALUES (?, ?, ?, ?)",
                vec![
                    now_secs().into(),
                    entry.user_id.map(UserId::get).into(),
                    entry.kind.into(),
                    entry.detail.into(),
                ],
            )
            .await?;
            let sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log a WHERE a.id = ?");
            fetch_opt(c, &sql, vec![Arg::Int(id)], audit_row)
                .await?
                .ok_or_else(|| Fail::from(Corrupt("audit entry vanished".to_owned())))
        }

        async fn list_audit(c: &mut Conn, q: ListQuery<AuditSort, AuditFilter>) -> Res<Page<AuditEntry>> {
            let f = &q.filter;
            let mut w = Where::default();
            if let Some(kind) = &f.kind {
                w.bind("a.kind = ?", kind.clone());
            }
            if let Some(since) = f.since {
                w.bind("a.at >= ?", secs_ceil(since));
            }
            if let Some(until) = f.until {
                w.bind("a.at < ?", secs_ceil(until));
            }
            let spec = PageSpec {
                columns: AUDIT_COLUMNS,
                from: "audit_log a",
                filter: &w,
                order: order_by(D, q.sort.map(|(s, o)| (audit_sort(s), o)), "a.id", "a.id DESC"),
            };
            let (items, total) = fetch_page(c, &spec, &q, audit_row).await?;
            Ok(Page { items, total })
        }

        async fn overview(c: &mut Conn, since: DateTime<Utc>) -> Res<Overview> {
            Ok(Overview {
                components: all_live_components(c).await?,
                groups: all_groups(c).await?,
                incidents: incidents_for_overview(c, since).await?,
                schedules: schedules_for_overview(c, since).await?,
            })
        }

        // ------------------------------------------------------------------ the outbox

        /// Queues `notice` (about `entity`) for every subscriber its audience reaches, in
        /// the caller's transaction; `created` is the subscriber that transaction creates,
        /// if any. Writes nothing when nobody is reached. The audience rule is
        /// `Audience::reaches`, written as SQL.
        async fn enqueue(
            c: &mut Conn,
            notice: Option<Notice>,
            entity: Option<i64>,
            created: Option<SubscriberId>,
            at: i64,
        ) -> Res<()> {
            let Some(notice) = notice else {
                return Ok(());
            };
            if notice.audience == Audience::NewSubscriber && created.is_none() {
                // The address was subscribed already: nothing happened to tell of.
                return Ok(());
            }
            for also in notice.also_notices() {
                Box::pin(enqueue(c, Some(also), entity, created, at)).await?;
            }
            let (condition, args) = match &notice.audience {
                Audience::Nobody => ("1 = 0".to_owned(), Vec::new()),
                Audience::Subscriber(id) => ("s.id = ?".to_owned(), vec![Arg::Int(id.get())]),
                Audience::NewSubscriber => match created {
                    Some(id) => ("s.id = ?".to_owned(), vec![Arg::Int(id.get())]),
                    // The address was subscribed already: nothing happened to tell of.
                    None => return Ok(()),
                },
                Audience::Subscribers(components) if components.is_empty() => {
                    ("s.verified_at IS NOT NULL AND s.is_global".to_owned(), Vec::new())
                }
                Audience::Subscribers(components) => (
                    format!(
                        "s.verified_at IS NOT NULL AND (s.is_global OR EXISTS (SELECT 1 FROM \
                         subscriptions x WHERE x.subscriber_id = s.id AND x.component_id IN ({})))",
                        placeholders(components.len())
                    ),
                    ints(components.iter().map(|c| c.get())),
                ),
            };
            let hooks: Vec<i64> = if notice.to_webhooks {
                list_webhooks(c)
                    .await?
                    .into_iter()
                    .filter(|w| w.wants(notice.event))
                    .map(|w| w.id.get())
                    .collect()
            } else {
                Vec::new()
            };
            let id = insert(
                c,
                "INSERT INTO notices (event, entity_id, subject, text_body, html_body, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?)",
                vec![
                    notice.event.as_str().into(),
                    Arg::OptInt(entity),
                    notice.subject.into(),
                    notice.text.into(),
                    notice.html.as_str().into(),
                    Arg::Int(at),
                ],
            )
            .await?;
            let mut all = vec![Arg::Int(id), Arg::Int(at), Arg::Int(at)];
            all.extend(args);
            let mut queued = execute(
                c,
                &format!(
                    "INSERT INTO deliveries (notice_id, subscriber_id, state, attempts, next_attempt_at, \
                     created_at) SELECT ?, s.id, 'pending', 0, ?, ? FROM subscribers s WHERE {condition} \
                     ORDER BY s.id"
                ),
                all,
            )
            .await?;
            for hook in hooks {
                queued += execute(
                    c,
                    "INSERT INTO deliveries (notice_id, webhook_id, state, attempts, next_attempt_at, \
                     created_at) VALUES (?, ?, 'pending', 0, ?, ?)",
                    vec![Arg::Int(id), Arg::Int(hook), Arg::Int(at), Arg::Int(at)],
                )
                .await?;
            }
            if queued == 0 {
                execute(c, "DELETE FROM notices WHERE id = ?", vec![Arg::Int(id)]).await?;
            }
            Ok(())
        }

        const DELIVERY_COLUMNS: &str = "d.id, d.subscriber_id, d.webhook_id, d.state, d.attempts, \
             d.next_attempt_at, d.last_error, d.delivered_at, d.created_at, n.id, n.event, n.entity_id, \
             n.subject, n.text_body, n.html_body, n.created_at";
        const DELIVERY_FROM: &str = "deliveries d JOIN notices n ON n.id = d.notice_id";

        fn delivery_row(r: &DbRow) -> Result<Delivery, sqlx::Error> {
            let target = match (r.try_get::<Option<i64>, _>(1)?, r.try_get::<Option<i64>, _>(2)?) {
                (Some(s), None) => Target::Subscriber(SubscriberId(s)),
                (None, Some(w)) => Target::Webhook(WebhookId(w)),
                _ => return Err(decode(Corrupt("a delivery without one recipient".to_owned()))),
            };
            let state = text(r, 3)?;
            let event = text(r, 10)?;
            let attempts: i64 = r.try_get(4)?;
            Ok(Delivery {
                id: DeliveryId(r.try_get(0)?),
                notice: NoticeRecord {
                    id: NoticeId(r.try_get(9)?),
                    event: EventKind::parse(&event)
                        .ok_or_else(|| decode(Corrupt(format!("notice event {event}"))))?,
                    entity_id: r.try_get(11)?,
                    subject: text(r, 12)?,
                    text: text(r, 13)?,
                    html: SafeHtml::from_stored(text(r, 14)?),
                    created_at: ts(r, 15)?,
                },
                target,
                state: DeliveryState::parse(&state)
                    .ok_or_else(|| decode(Corrupt(format!("delivery state {state}"))))?,
                attempts: u32::try_from(attempts)
                    .map_err(|_| decode(Corrupt(format!("attempts {attempts}"))))?,
                next_attempt_at: ts(r, 5)?,
                last_error: opt_text(r, 6)?,
                delivered_at: opt_ts(r, 7)?,
                created_at: ts(r, 8)?,
            })
        }

        /// Locks the due, unheld rows first (`SKIP LOCKED`: rows another claim is taking are
        /// passed over, not waited for), then takes them.
        async fn claim_deliveries(c: &mut Conn, claim: Claim) -> Res<Vec<Delivery>> {
            let now = secs(claim.now);
            let channel = match claim.channel {
                Channel::Mail => "subscriber_id IS NOT NULL",
                Channel::Webhook => "webhook_id IS NOT NULL",
            };
            let ids: Vec<i64> = fetch_all(
                c,
                &format!(
                    "SELECT id FROM deliveries WHERE state = 'pending' AND next_attempt_at <= ? \
                     AND (lease_until IS NULL OR lease_until <= ?) AND {channel} \
                     ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED"
                ),
                vec![Arg::Int(now), Arg::Int(now), Arg::Int(i64::from(claim.limit))],
                |r| r.try_get(0),
            )
            .await?;
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let list = placeholders(ids.len());
            let mut args = vec![
                Arg::Text(claim.token.clone()),
                // Rounded up: a stored lease never ends before the one the worker holds.
                Arg::Int(secs_ceil(claim.lease_until)),
            ];
            args.extend(ints(ids.iter().copied()));
            execute(
                c,
                &format!(
                    "UPDATE deliveries SET attempts = attempts + 1, lease_token = ?, lease_until = ? \
                     WHERE id IN ({list})"
                ),
                args,
            )
            .await?;
            fetch_all(
                c,
                &format!(
                    "SELECT {DELIVERY_COLUMNS} FROM {DELIVERY_FROM} WHERE d.id IN ({list}) \
                     ORDER BY d.next_attempt_at, d.id"
                ),
                ints(ids),
                delivery_row,
            )
            .await
        }

        async fn finish_delivery(
            c: &mut Conn,
            id: DeliveryId,
            token: String,
            outcome: Outcome,
        ) -> Res<bool> {
            let changed = execute(
                c,
                "UPDATE deliveries SET state = ?, last_error = ?, delivered_at = ?, \
                 next_attempt_at = COALESCE(?, next_attempt_at), lease_token = NULL, lease_until = NULL \
                 WHERE id = ? AND lease_token = ? AND state = 'pending'",
                vec![
                    outcome.state().as_str().into(),
                    Arg::OptText(outcome.error()),
                    Arg::OptInt(outcome.delivered_at().map(secs)),
                    Arg::OptInt(outcome.retry_at().map(secs)),
                    Arg::Int(id.get()),
                    Arg::Text(token),
                ],
            )
            .await?;
            Ok(changed == 1)
        }

        // ------------------------------------------------------------------ webhooks

        const WEBHOOK_COLUMNS: &str =
            "id, url, events, enabled, secret_sealed, created_at, updated_at";

        fn webhook_row(r: &DbRow) -> Result<Webhook, sqlx::Error> {
            Ok(Webhook {
                id: WebhookId(r.try_get(0)?),
                url: text(r, 1)?,
                events: parse_events_text(&text(r, 2)?),
                enabled: r.try_get(3)?,
                secret_sealed: text(r, 4)?,
                created_at: ts(r, 5)?,
                updated_at: ts(r, 6)?,
            })
        }

        async fn list_webhooks(c: &mut Conn) -> Res<Vec<Webhook>> {
            fetch_all(
                c,
                &format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY id"),
                Vec::new(),
                webhook_row,
            )
            .await
        }

        async fn read_webhook(c: &mut Conn, id: WebhookId, suffix: &'static str) -> Res<Webhook> {
            let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = ? {suffix}");
            match fetch_opt(c, &sql, vec![Arg::Int(id.get())], webhook_row).await? {
                Some(w) => Ok(w),
                None => not_found(Entity::Webhook),
            }
        }

        async fn create_webhook(c: &mut Conn, new: NewWebhook) -> Res<Webhook> {
            let at = now_secs();
            let id = insert(
                c,
                "INSERT INTO webhooks (url, events, enabled, secret_sealed, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?)",
                vec![
                    new.url.into(),
                    events_text(&new.events).into(),
                    Arg::Bool(new.enabled),
                    new.secret_sealed.into(),
                    Arg::Int(at),
                    Arg::Int(at),
                ],
            )
            .await?;
            read_webhook(c, WebhookId(id), "").await
        }

        /// Locks the row, applies the patch to it, writes it whole.
        async fn update_webhook(c: &mut Conn, id: WebhookId, patch: WebhookPatch) -> Res<Webhook> {
            let w = read_webhook(c, id, "FOR UPDATE").await?;
            execute(
                c,
                "UPDATE webhooks SET url = ?, events = ?, enabled = ?, secret_sealed = ?, \
                 updated_at = ? WHERE id = ?",
                vec![
                    patch.url.unwrap_or(w.url).into(),
                    events_text(&patch.events.unwrap_or(w.events)).into(),
                    Arg::Bool(patch.enabled.unwrap_or(w.enabled)),
                    patch.secret_sealed.unwrap_or(w.secret_sealed).into(),
                    Arg::Int(now_secs()),
                    Arg::Int(id.get()),
                ],
            )
            .await?;
            read_webhook(c, id, "").await
        }

        async fn delete_webhook(c: &mut Conn, id: WebhookId) -> Res<()> {
            let deleted =
                execute(c, "DELETE FROM webhooks WHERE id = ?", vec![Arg::Int(id.get())]).await?;
            if deleted == 0 {
                return not_found(Entity::Webhook);
            }
            Ok(())
        }

        async fn list_deliveries(
            c: &mut Conn,
            q: ListQuery<DeliverySort, DeliveryFilter>,
        ) -> Res<Page<Delivery>> {
            let mut w = Where::default();
            if let Some(state) = q.filter.state {
                w.bind("d.state = ?", state.as_str());
            }
            if let Some(notice) = q.filter.notice {
                w.bind("d.notice_id = ?", notice.get());
            }
            let sort = q.sort.map(|(s, o)| {
                let column = match s {
                    DeliverySort::Id => "d.id",
                    DeliverySort::NextAttemptAt => "d.next_attempt_at",
                };
                (column, o)
            });
            let spec = PageSpec {
                columns: DELIVERY_COLUMNS,
                from: DELIVERY_FROM,
                filter: &w,
                order: order_by(D, sort, "d.id", "d.id DESC"),
            };
            let (items, total) = fetch_page(c, &spec, &q, delivery_row).await?;
            Ok(Page { items, total })
        }

        // ------------------------------------------------------------------ the trait

        #[async_trait]
        impl Store for $store {
            async fn list_components(
                &self,
                q: &ListQuery<ComponentSort, ComponentFilter>,
            ) -> Result<Page<Component>, StoreError> {
                let q = q.clone();
                self.read(move |c| Box::pin(list_components(c, q))).await
            }

            async fn get_component(&self, id: ComponentId) -> Result<Component, StoreError> {
                self.read(move |c| Box::pin(get_component(c, id))).await
            }

            async fn create_component(&self, new: NewComponent) -> Result<Component, StoreError> {
                self.write(move |c| Box::pin(create_component(c, new.clone()))).await
            }

            async fn update_component(
                &self,
                id: ComponentId,
                changes: ComponentChanges,
                source: StatusSource,
            ) -> Result<Component, StoreError> {
                self.write(move |c| Box::pin(update_component(c, id, changes.clone(), source)))
                    .await
            }

            async fn delete_component(&self, id: ComponentId) -> Result<(), StoreError> {
                self.write(move |c| Box::pin(delete_component(c, id))).await
            }

            async fn status_changes(
                &self,
                component: ComponentId,
                page: u32,
                per_page: u32,
            ) -> Result<Page<StatusChange>, StoreError> {
                self.read(move |c| Box::pin(status_changes(c, component, page, per_page)))
                    .await
            }

            async fn reconcile_maintenance(
                &self,
                now: DateTime<Utc>,
            ) -> Result<Vec<StatusChange>, StoreError> {
                self.write(move |c| Box::pin(reconcile_maintenance(c, now))).await
            }

            async fn unannounced_schedules(&self) -> Result<Vec<ScheduleId>, StoreError> {
                self.read(move |c| {
                    Box::pin(fetch_all(
                        c,
                        "SELECT id FROM schedules WHERE announced <> 2 AND deleted_at IS NULL \
                         ORDER BY id",
                        Vec::new(),
                        |r| r.try_get(0).map(ScheduleId),
                    ))
                })
                .await
            }

            async fn announce_schedule(
                &self,
                id: ScheduleId,
                from: Announced,
                to: Announced,
                notice: Option<Notice>,
            ) -> Result<bool, StoreError> {
                self.write(move |c| Box::pin(announce_schedule(c, id, from, to, notice.clone())))
                    .await
            }

            async fn list_groups(
                &self,
                q: &ListQuery<GroupSort, GroupFilter>,
            ) -> Result<Page<ComponentGroup>, StoreError> {
                let q = q.clone();
                self.read(move |c| Box::pin(list_groups(c, q))).await
            }

            async fn get_group(&self, id: GroupId) -> Result<ComponentGroup, StoreError> {
                self.read(move |c| Box::pin(get_group(c, id))).await
            }

            async fn create_group(&self, new: NewGroup) -> Result<ComponentGroup, StoreError> {
                self.write(move |c| Box::pin(create_group(c, new.clone()))).await
            }

            async fn update_group(
                &self,
                id: GroupId,
                changes: GroupChanges,
            ) -> Result<ComponentGroup, StoreError> {
                self.write(move |c| Box::pin(update_group(c, id, changes.clone())))
                    .await
            }

            async fn delete_group(&self, id: GroupId) -> Result<(), StoreError> {
                self.write(move |c| Box::pin(delete_group(c, id))).await
            }

            async fn list_incidents(
                &self,
                q: &ListQuery<IncidentSort, IncidentFilter>,
            ) -> Result<Page<Incident>, StoreError> {
                let q = q.clone();
                self.read(move |c| Box::pin(list_incidents(c, q))).await
            }

            async fn get_incident(&self, id: IncidentId) -> Result<Incident, StoreError> {
                self.read(move |c| Box::pin(get_incident(c, id))).await
            }

            async fn create_incident(&self, new: NewIncident) -> Result<Incident, StoreError> {
                self.write(move |c| Box::pin(create_incident(c, new.clone()))).await
            }

            async fn update_incident(
                &self,
                id: IncidentId,
                changes: IncidentChanges,
            ) -> Result<Incident, StoreError> {
                self.write(move |c| Box::pin(update_incident(c, id, changes.clone())))
                    .await
            }

            async fn delete_incident(&self, id: IncidentId) -> Result<(), StoreError> {
                self.write(move |c| Box::pin(delete_incident(c, id))).await
            }

            async fn list_updates(
                &self,
                incident: IncidentId,
                q: &ListQuery<UpdateSort, ()>,
            ) -> Result<Page<IncidentUpdate>, StoreError> {
                let q = q.clone();
                self.read(move |c| Box::pin(list_updates(c, incident, q))).await
            }

            async fn get_update(
                &self,
                incident: IncidentId,
                id: UpdateId,
            ) -> Result<IncidentUpdate, StoreError> {
                self.read(move |c| Box::pin(get_update(c, incident, id))).await
            }

            async fn create_update(
                &self,
                incident: IncidentId,
                new: NewIncidentUpdate,
            ) -> Result<IncidentUpdate, StoreError> {
                self.write(move |c| Box::pin(create_update(c, incident, new.clone())))
                    .await
            }

            async fn update_update(
                &self,
                incident: IncidentId,
                id: UpdateId,
                changes: IncidentUpdateChanges,
            ) -> Result<IncidentUpdate, StoreError> {
                self.write(move |c| Box::pin(update_update(c, incident, id, changes.clone())))
                    .await
            }

            async fn delete_update(&self, incident: IncidentId, id: UpdateId) -> Result<(), StoreError> {
                self.write(move |c| Box::pin(delete_update(c, incident, id))).await
            }

            async fn list_templates(
                &self,
                q: &ListQuery<TemplateSort, ()>,
            ) -> Result<Page<IncidentTemplate>, StoreError> {
                let q = q.clone();
                self.read(move |c| Box::pin(list_templates(c, q))).await
            }

            async fn get_template(&self, id: TemplateId) -> Result<IncidentTemplate, StoreError> {
                self.read(move |c| Box::pin(get_template(c, id))).await
            }

            async fn get_template_by_slug(&self, slug: &str) -> Result<IncidentTemplate, StoreError> {
                let slug = slug.to_owned();
                self.read(move |c| Box::pin(get_template_by_slug(c, slug))).await
            }

            async fn create_template(&self, new: NewTemplate) -> Result<IncidentTemplate, StoreError> {
                self.write(move |c| Box::pin(create_template(c, new.clone())))
                    .await
                    .map_err(conflict_means("template slug is taken"))
            }

            async fn update_template(
                &self,
                id: TemplateId,
                changes: TemplateChanges,
            ) -> Result<IncidentTemplate, StoreError> {
                self.write(move |c| Box::pin(update_template(c, id, changes.clone())))
                    .await
                    .map_err(conflict_means("template slug is taken"))
            }

            async fn delete_template(&self, id: TemplateId) -> Result<(), StoreError> {
                self.write(move |c| Box::pin(delete_template(c, id))).await
            }

            async fn list_schedules(
                &self,
                q: &ListQuery<ScheduleSort, ()>,
            ) -> Result<Page<Schedule>, StoreError> {
                let q = q.clone();
                self.read(move |c| Box::pin(list_schedules(c, q))).await
            }

            async fn get_schedule(&self, id: ScheduleId) -> Result<Schedule, StoreError> {
                self.read(move |c| Box::pin(get_schedule(c, id))).await
            }

            async fn create_schedule(&self, new: NewSchedule) -> Result<Schedule, StoreError> {
                self.write(move |c| Box::pin(create_schedule(c, new.clone()))).await
            }

            async fn update_schedule(
                &self,
                id: ScheduleId,
                changes: ScheduleChanges,
            ) -> Result<Schedule, StoreError> {
                self.write(move |c| Box::pin(update_schedule(c, id, changes.clone())))
                    .await
            }

            async fn delete_schedule(&self, id: ScheduleId) -> Result<(), StoreError> {
                self.write(move |c| Box::pin(delete_schedule(c, id))).await
            }

            async fn list_metrics(
                &self,
                q: &ListQuery<MetricSort, MetricFilter>,
            ) -> Result<Page<Metric>, StoreError> {
                let q = q.clone();
                self.read(move |c| Box::pin(list_metrics(c, q))).await
            }

            async fn get_metric(&self, id: MetricId) -> Result<Metric, StoreError> {
                self.read(move |c| Box::pin(get_metric(c, id))).await
            }

            async fn create_metric(&self, new: NewMetric) -> Result<Metric, StoreError> {
                self.write(move |c| Box::pin(create_metric(c, new.clone()))).await
            }

            async fn update_metric(
                &self,
                id: MetricId,
                changes: MetricChanges,
            ) -> Result<Metric, StoreError> {
                self.write(move |c| Box::pin(update_metric(c, id, changes.clone())))
                    .await
            }

            async fn delete_metric(&self, id: MetricId) -> Result<(), StoreError> {
                self.write(move |c| Box::pin(delete_metric(c, id))).await
            }

            async fn list_points(
                &self,
                metric: MetricId,
                q: &ListQuery<PointSort, ()>,
            ) -> Result<Page<MetricPoint>, StoreError> {
                let q = q.clone();
                self.read(move |c| Box::pin(list_points(c, metric, q))).await
            }

            async fn get_point(&self, metric: MetricId, id: PointId) -> Result<MetricPoint, StoreError> {
                self.read(move |c| Box::pin(get_point(c, metric, id))).await
            }

            async fn record_point(
                &self,
                metric: MetricId,
                new: NewPoint,
            ) -> Result<MetricPoint, StoreError> {
                self.write(move |c| Box::pin(record_point(c, metric, new))).await
            }

            async fn update_point(
                &self,
                metric: MetricId,
                id: PointId,
                changes: PointChanges,
            ) -> Result<MetricPoint, StoreError> {
                self.write(move |c| Box::pin(update_point(c, metric, id, changes)))
                    .await
            }

            async fn delete_point(&self, metric: MetricId, id: PointId) -> Result<(), StoreError> {
                self.write(move |c| Box::pin(delete_point(c, metric, id))).await
            }

            async fn metric_sums(
                &self,
                metric: MetricId,
                window: Window,
            ) -> Result<Vec<BucketSums>, StoreError> {
                self.read(move |c| Box::pin(metric_sums(c, metric, window))).await
            }

            async fn list_subscribers(
                &self,
                q: &ListQuery<SubscriberSort, ()>,
            ) -> Result<Page<StoredSubscriber>, StoreError> {
                let q = q.clone();
                self.read(move |c| Box::pin(list_subscribers(c, q))).await
            }

            async fn find_subscriber(&self, lookup: &str) -> Result<StoredSubscriber, StoreError> {
                let lookup = lookup.to_owned();
                self.read(move |c| Box::pin(find_subscriber(c, lookup))).await
            }

            async fn unsealed_subscriber_emails(
                &self,
            ) -> Result<Vec<(SubscriberId, String)>, StoreError> {
                self.read(move |c| Box::pin(unsealed_subscriber_emails(c))).await
            }

            async fn seal_subscriber_email(
                &self,
                id: SubscriberId,
                email: SealedEmail,
            ) -> Result<(), StoreError> {
                self.write(move |c| Box::pin(seal_subscriber_email(c, id, email.clone())))
                    .await
                    .map_err(conflict_means("email is taken"))
            }

            async fn get_subscriber(&self, id: SubscriberId) -> Result<StoredSubscriber, StoreError> {
                self.read(move |c| Box::pin(get_subscriber(c, id))).await
            }

            async fn create_subscriber(
                &self,
                new: NewSubscriber,
            ) -> Result<(StoredSubscriber, bool), StoreError> {
                self.write(move |c| Box::pin(create_subscriber(c, new.clone()))).await
            }

            async fn delete_subscriber(
                &self,
                id: SubscriberId,
                notice: Option<Notice>,
            ) -> Result<(), StoreError> {
                self.write(move |c| Box::pin(delete_subscriber(c, id, notice.clone())))
                    .await
            }

            async fn delete_subscription(&self, id: SubscriptionId) -> Result<(), StoreError> {
                self.write(move |c| Box::pin(delete_subscription(c, id))).await
            }

            async fn bootstrap_admin(
                &self,
                user: NewUser,
                token: NewApiToken,
            ) -> Result<Option<(User, ApiToken)>, StoreError> {
                self.write(move |c| Box::pin(bootstrap_admin(c, user.clone(), token.clone())))
                    .await
            }

            async fn create_user(&self, new: NewUser) -> Result<User, StoreError> {
                self.write(move |c| Box::pin(create_user(c, new.clone()))).await
            }

            async fn get_user(&self, id: UserId) -> Result<User, StoreError> {
                self.read(move |c| Box::pin(get_user(c, id))).await
            }

            async fn find_user(&self, login: &str) -> Result<User, StoreError> {
                let login = login.to_owned();
                self.read(move |c| Box::pin(find_user(c, login))).await
            }

            async fn list_users(&self, q: &ListQuery<UserSort, ()>) -> Result<Page<User>, StoreError> {
                let q = q.clone();
                self.read(move |c| Box::pin(list_users(c, q))).await
            }

            async fn update_user(&self, id: UserId, changes: UserChanges) -> Result<User, StoreError> {
                self.write(move |c| Box::pin(update_user(c, id, changes.clone()))).await
            }

            async fn create_token(&self, new: NewApiToken) -> Result<ApiToken, StoreError> {
                self.write(move |c| Box::pin(create_token(c, new.clone())))
                    .await
                    .map_err(conflict_means("token digest is taken"))
            }

            async fn find_token(&self, hash: &TokenHash) -> Result<(ApiToken, User), StoreError> {
                let hash = hash.clone();
                self.read(move |c| Box::pin(find_token(c, hash))).await
            }

            async fn list_tokens(&self, user: Option<UserId>) -> Result<Vec<ApiToken>, StoreError> {
                self.read(move |c| Box::pin(list_tokens(c, user))).await
            }

            async fn revoke_token(&self, id: TokenId) -> Result<ApiToken, StoreError> {
                self.write(move |c| Box::pin(revoke_token(c, id))).await
            }

            async fn touch_token(&self, id: TokenId, at: DateTime<Utc>) -> Result<(), StoreError> {
                self.write(move |c| Box::pin(touch_token(c, id, at))).await
            }

            async fn begin_totp(&self, user: UserId, sealed_secret: String) -> Result<User, StoreError> {
                self.write(move |c| Box::pin(begin_totp(c, user, sealed_secret.clone())))
                    .await
            }

            async fn enable_totp(
                &self,
                user: UserId,
                sealed_secret: String,
                step: i64,
                recovery: Vec<TokenHash>,
            ) -> Result<User, StoreError> {
                self.write(move |c| {
                    Box::pin(enable_totp(c, user, sealed_secret.clone(), step, recovery.clone()))
                })
                .await
            }

            async fn disable_totp(&self, user: UserId) -> Result<User, StoreError> {
                self.write(move |c| Box::pin(disable_totp(c, user))).await
            }

            async fn claim_totp_step(&self, user: UserId, step: i64) -> Result<bool, StoreError> {
                self.write(move |c| Box::pin(claim_totp_step(c, user, step))).await
            }

            async fn use_recovery_code(
                &self,
                user: UserId,
                code: &TokenHash,
                at: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                let code = *code;
                self.write(move |c| Box::pin(use_recovery_code(c, user, code, at))).await
            }

            async fn recovery_codes_left(&self, user: UserId) -> Result<u32, StoreError> {
                self.read(move |c| Box::pin(recovery_codes_left(c, user))).await
            }

            async fn create_session(&self, new: NewSession) -> Result<Session, StoreError> {
                self.write(move |c| Box::pin(create_session(c, new.clone())))
                    .await
                    .map_err(conflict_means("session exists"))
            }

            async fn get_session(&self, hash: &TokenHash) -> Result<Session, StoreError> {
                let hash = *hash;
                self.read(move |c| Box::pin(get_session(c, hash))).await
            }

            async fn touch_session(
                &self,
                hash: &TokenHash,
                at: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                let hash = *hash;
                self.write(move |c| Box::pin(touch_session(c, hash, at))).await
            }

            async fn replace_session(
                &self,
                old: &TokenHash,
                new: NewSession,
            ) -> Result<Option<Session>, StoreError> {
                let old = *old;
                self.write(move |c| Box::pin(replace_session(c, old, new.clone())))
                    .await
                    .map_err(conflict_means("session exists"))
            }

            async fn delete_session(&self, hash: &TokenHash) -> Result<bool, StoreError> {
                let hash = *hash;
                self.write(move |c| Box::pin(delete_session(c, hash))).await
            }

            async fn delete_user_sessions(
                &self,
                user: UserId,
                keep: Option<&TokenHash>,
            ) -> Result<u64, StoreError> {
                let keep = keep.copied();
                self.write(move |c| Box::pin(delete_user_sessions(c, user, keep))).await
            }

            async fn purge_sessions(
                &self,
                created_before: DateTime<Utc>,
                seen_before: DateTime<Utc>,
            ) -> Result<u64, StoreError> {
                self.write(move |c| Box::pin(purge_sessions(c, created_before, seen_before)))
                    .await
            }

            async fn load_settings(&self) -> Result<Vec<(String, String)>, StoreError> {
                self.read(|c| Box::pin(load_settings(c))).await
            }

            async fn save_settings(&self, pairs: Vec<(String, String)>) -> Result<(), StoreError> {
                self.write(move |c| Box::pin(save_settings(c, pairs.clone()))).await
            }

            async fn claim_setting(&self, key: String, value: String) -> Result<String, StoreError> {
                self.write(move |c| Box::pin(claim_setting(c, key.clone(), value.clone())))
                    .await
            }

            async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry, StoreError> {
                self.write(move |c| Box::pin(append_audit(c, entry.clone()))).await
            }

            async fn list_audit(
                &self,
                q: &ListQuery<AuditSort, AuditFilter>,
            ) -> Result<Page<AuditEntry>, StoreError> {
                let q = q.clone();
                self.read(move |c| Box::pin(list_audit(c, q))).await
            }

            async fn overview(&self, since: DateTime<Utc>) -> Result<Overview, StoreError> {
                self.read(move |c| Box::pin(overview(c, since))).await
            }

            async fn verify_subscriber(
                &self,
                id: SubscriberId,
                at: DateTime<Utc>,
                notice: Option<Notice>,
            ) -> Result<bool, StoreError> {
                self.write(move |c| Box::pin(verify_subscriber(c, id, secs(at), notice.clone())))
                    .await
            }

            async fn set_subscriptions(
                &self,
                id: SubscriberId,
                global: bool,
                to: SubscribeTo,
            ) -> Result<StoredSubscriber, StoreError> {
                self.write(move |c| Box::pin(set_subscriptions(c, id, global, to.clone())))
                    .await
            }

            async fn queue_notice(&self, notice: Notice) -> Result<(), StoreError> {
                let entity = match notice.audience {
                    Audience::Subscriber(id) => Some(id.get()),
                    _ => None,
                };
                self.write(move |c| Box::pin(enqueue(c, Some(notice.clone()), entity, None, now_secs())))
                    .await
            }

            async fn claim_deliveries(&self, claim: &Claim) -> Result<Vec<Delivery>, StoreError> {
                let claim = claim.clone();
                self.write(move |c| Box::pin(claim_deliveries(c, claim.clone()))).await
            }

            async fn finish_delivery(
                &self,
                id: DeliveryId,
                token: &str,
                outcome: Outcome,
            ) -> Result<bool, StoreError> {
                let token = token.to_owned();
                self.write(move |c| Box::pin(finish_delivery(c, id, token.clone(), outcome.clone())))
                    .await
            }

            async fn list_deliveries(
                &self,
                q: &ListQuery<DeliverySort, DeliveryFilter>,
            ) -> Result<Page<Delivery>, StoreError> {
                let q = q.clone();
                self.read(move |c| Box::pin(list_deliveries(c, q.clone()))).await
            }

            async fn create_webhook(&self, new: NewWebhook) -> Result<Webhook, StoreError> {
                self.write(move |c| Box::pin(create_webhook(c, new.clone()))).await
            }

            async fn list_webhooks(&self) -> Result<Vec<Webhook>, StoreError> {
                self.read(move |c| Box::pin(list_webhooks(c))).await
            }

            async fn get_webhook(&self, id: WebhookId) -> Result<Webhook, StoreError> {
                self.read(move |c| Box::pin(read_webhook(c, id, ""))).await
            }

            async fn update_webhook(
                &self,
                id: WebhookId,
                patch: WebhookPatch,
            ) -> Result<Webhook, StoreError> {
                self.write(move |c| Box::pin(update_webhook(c, id, patch.clone())))
                    .await
            }

            async fn delete_webhook(&self, id: WebhookId) -> Result<(), StoreError> {
                self.write(move |c| Box::pin(delete_webhook(c, id))).await
            }
        }
    };
}

pub(crate) use sql_backend;
