//! Metrics and their points; bucket sums computed by SQL.

use cachet_core::chart::Window;
use cachet_core::error::Entity;
use cachet_core::ids::{MetricId, PointId};
use cachet_core::model::{BucketSums, Metric, MetricPoint};
use cachet_core::store::{
    now, ListQuery, MetricChanges, MetricFilter, MetricSort, NewMetric, NewPoint, Page,
    PointChanges, PointSort,
};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::conv::{secs, secs_ceil, En, Ts};
use crate::error::{not_found, Res};
use crate::query::{fetch_page, order_by, PageSpec, Set, Where};

const COLUMNS: &str = r#"m.id, m.name, m.suffix, m.description, m.default_value, m.calc_type, m.display_chart, m.places,
                         m.default_view, m.threshold, m."order", m.visible, m.created_at, m.updated_at"#;

fn row(r: &Row<'_>) -> rusqlite::Result<Metric> {
    Ok(Metric {
        id: MetricId(r.get("id")?),
        name: r.get("name")?,
        suffix: r.get("suffix")?,
        description: r.get("description")?,
        default_value: r.get("default_value")?,
        calc_type: r.get::<_, En<_>>("calc_type")?.0,
        display_chart: r.get("display_chart")?,
        places: r.get("places")?,
        default_view: r.get::<_, En<_>>("default_view")?.0,
        threshold: r.get("threshold")?,
        order: r.get("order")?,
        visible: r.get::<_, En<_>>("visible")?.0,
        created_at: r.get::<_, Ts>("created_at")?.0,
        updated_at: r.get::<_, Ts>("updated_at")?.0,
    })
}

fn sort_column(s: MetricSort) -> &'static str {
    match s {
        MetricSort::Id => "m.id",
        MetricSort::Name => "m.name",
        MetricSort::DisplayChart => "m.display_chart",
        MetricSort::DefaultValue => "m.default_value",
        MetricSort::CalcType => "m.calc_type",
        MetricSort::Order => r#"m."order""#,
        MetricSort::Visible => "m.visible",
    }
}

const POINT_COLUMNS: &str = "p.id, p.metric_id, p.value, p.counter, p.created_at, p.updated_at";

fn point_row(r: &Row<'_>) -> rusqlite::Result<MetricPoint> {
    Ok(MetricPoint {
        id: PointId(r.get("id")?),
        metric_id: MetricId(r.get("metric_id")?),
        value: r.get("value")?,
        counter: r.get("counter")?,
        created_at: r.get::<_, Ts>("created_at")?.0,
        updated_at: r.get::<_, Ts>("updated_at")?.0,
    })
}

fn point_sort_column(s: PointSort) -> &'static str {
    match s {
        PointSort::Id => "p.id",
        PointSort::Value => "p.value",
        PointSort::CreatedAt => "p.created_at",
    }
}

fn exists(conn: &Connection, id: MetricId) -> Res<bool> {
    let found = conn
        .prepare_cached("SELECT 1 FROM metrics WHERE id = ?1")?
        .query_row([id.get()], |_| Ok(()))
        .optional()?;
    Ok(found.is_some())
}

pub(crate) fn list(
    conn: &Connection,
    q: &ListQuery<MetricSort, MetricFilter>,
) -> Res<Page<Metric>> {
    let mut w = Where::default();
    if q.filter.public_only {
        w.raw("m.visible = 1");
    }
    let spec = PageSpec {
        columns: COLUMNS,
        from: "metrics m",
        filter: &w,
        order: order_by(q.sort.map(|(s, o)| (sort_column(s), o)), "m.id", "m.id ASC"),
    };
    let (items, total) = fetch_page(conn, &spec, q, row)?;
    Ok(Page { items, total })
}

pub(crate) fn get(conn: &Connection, id: MetricId) -> Res<Metric> {
    let sql = format!("SELECT {COLUMNS} FROM metrics m WHERE m.id = ?1");
    match conn
        .prepare_cached(&sql)?
        .query_row([id.get()], row)
        .optional()?
    {
        Some(m) => Ok(m),
        None => not_found(Entity::Metric),
    }
}

pub(crate) fn create(conn: &Connection, new: NewMetric) -> Res<Metric> {
    let at = secs(now());
    conn.prepare_cached(
        r#"INSERT INTO metrics (name, suffix, description, default_value, calc_type, display_chart, places, default_view,
                                threshold, "order", visible, created_at, updated_at)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)"#,
    )?
    .execute(params![
        new.name,
        new.suffix,
        new.description,
        new.default_value,
        new.calc_type.as_i64(),
        new.display_chart,
        new.places,
        new.default_view.as_i64(),
        new.threshold,
        new.order,
        new.visible.as_i64(),
        at,
    ])?;
    get(conn, MetricId(conn.last_insert_rowid()))
}

pub(crate) fn update(conn: &Connection, id: MetricId, changes: MetricChanges) -> Res<Metric> {
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
    set.set_some(r#""order""#, changes.order);
    set.set_some("visible", changes.visible.map(i64::from));
    set.set("updated_at", secs(now()));
    if set.execute(conn, "metrics", id.get())? == 0 {
        return not_found(Entity::Metric);
    }
    get(conn, id)
}

pub(crate) fn delete(conn: &Connection, id: MetricId) -> Res<()> {
    conn.prepare_cached("DELETE FROM metric_points WHERE metric_id = ?1")?
        .execute([id.get()])?;
    if conn
        .prepare_cached("DELETE FROM metrics WHERE id = ?1")?
        .execute([id.get()])?
        == 0
    {
        return not_found(Entity::Metric);
    }
    Ok(())
}

// ---- points

pub(crate) fn list_points(
    conn: &Connection,
    metric: MetricId,
    q: &ListQuery<PointSort, ()>,
) -> Res<Page<MetricPoint>> {
    if !exists(conn, metric)? {
        return not_found(Entity::Metric);
    }
    let mut w = Where::default();
    w.bind("p.metric_id = ?", metric.get());
    let spec = PageSpec {
        columns: POINT_COLUMNS,
        from: "metric_points p",
        filter: &w,
        order: order_by(
            q.sort.map(|(s, o)| (point_sort_column(s), o)),
            "p.id",
            "p.created_at DESC, p.id DESC",
        ),
    };
    let (items, total) = fetch_page(conn, &spec, q, point_row)?;
    Ok(Page { items, total })
}

pub(crate) fn get_point(conn: &Connection, metric: MetricId, id: PointId) -> Res<MetricPoint> {
    let sql =
        format!("SELECT {POINT_COLUMNS} FROM metric_points p WHERE p.id = ?1 AND p.metric_id = ?2");
    match conn
        .prepare_cached(&sql)?
        .query_row([id.get(), metric.get()], point_row)
        .optional()?
    {
        Some(p) => Ok(p),
        None => not_found(Entity::MetricPoint),
    }
}

pub(crate) fn record_point(conn: &Connection, metric: MetricId, new: NewPoint) -> Res<MetricPoint> {
    if !exists(conn, metric)? {
        return not_found(Entity::Metric);
    }
    let at = secs(now());
    let existing: Option<i64> = conn
        .prepare_cached(
            "SELECT id FROM metric_points WHERE metric_id = ?1 AND value = ?2 AND created_at >= ?3 \
             ORDER BY id LIMIT 1",
        )?
        .query_row(params![metric.get(), new.value, secs_ceil(new.dedup_since)], |r| r.get(0))
        .optional()?;
    let id = match existing {
        Some(id) => {
            conn.prepare_cached(
                "UPDATE metric_points SET counter = counter + 1, updated_at = ?2 WHERE id = ?1",
            )?
            .execute([id, at])?;
            id
        }
        None => {
            conn.prepare_cached(
                "INSERT INTO metric_points (metric_id, value, counter, created_at, updated_at) VALUES (?1, ?2, 1, ?3, ?4)",
            )?
            .execute(params![metric.get(), new.value, secs(new.created_at), at])?;
            conn.last_insert_rowid()
        }
    };
    get_point(conn, metric, PointId(id))
}

pub(crate) fn update_point(
    conn: &Connection,
    metric: MetricId,
    id: PointId,
    changes: PointChanges,
) -> Res<MetricPoint> {
    get_point(conn, metric, id)?;
    let mut set = Set::default();
    set.set_some("value", changes.value);
    set.set_some("created_at", changes.created_at.map(secs));
    set.set("updated_at", secs(now()));
    set.execute(conn, "metric_points", id.get())?;
    get_point(conn, metric, id)
}

pub(crate) fn delete_point(conn: &Connection, metric: MetricId, id: PointId) -> Res<()> {
    let deleted = conn
        .prepare_cached("DELETE FROM metric_points WHERE id = ?1 AND metric_id = ?2")?
        .execute([id.get(), metric.get()])?;
    if deleted == 0 {
        return not_found(Entity::MetricPoint);
    }
    Ok(())
}

/// Sums per bucket. SQLite's integer division truncates toward zero, so one is subtracted
/// when the remainder is negative: that is `floor` for every sign of `t + offset`.
pub(crate) fn sums(conn: &Connection, metric: MetricId, window: Window) -> Res<Vec<BucketSums>> {
    // A width below one second is read as one second, as in the reference store.
    let bucket_secs = window.bucket_secs.max(1);
    let mut stmt = conn.prepare_cached(
        "SELECT bucket, SUM(value * counter), SUM(value), COUNT(*) FROM ( \
           SELECT (created_at + ?2) / ?3 - (CASE WHEN (created_at + ?2) % ?3 < 0 THEN 1 ELSE 0 END) AS bucket, \
                  value, counter \
           FROM metric_points WHERE metric_id = ?1 AND created_at >= ?4 AND created_at < ?5) \
         GROUP BY bucket ORDER BY bucket",
    )?;
    let rows = stmt.query_map(
        [
            metric.get(),
            window.offset_secs,
            bucket_secs,
            secs_ceil(window.from),
            secs_ceil(window.to),
        ],
        |r| {
            Ok(BucketSums {
                bucket: r.get(0)?,
                sum_product: r.get(1)?,
                sum_value: r.get(2)?,
                points: r.get(3)?,
            })
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
