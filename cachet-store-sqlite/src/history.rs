//! Component status history and maintenance holds. Every status write of the store goes
//! through [`set_status`], inside the caller's write transaction, so a change and its row
//! are one write.

use std::collections::BTreeMap;

use cachet_core::enums::{ComponentStatus, StatusSource};
use cachet_core::ids::{ComponentId, ScheduleId, StatusChangeId};
use cachet_core::maintenance::{self, Hold};
use cachet_core::model::StatusChange;
use cachet_core::store::{ListQuery, Page};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row};

use crate::conv::{id_array, secs, En, Ts};
use crate::error::Res;
use crate::query::{fetch_page, PageSpec, Where};
use crate::schedules;

fn row(r: &Row<'_>) -> rusqlite::Result<StatusChange> {
    Ok(StatusChange {
        id: StatusChangeId(r.get(0)?),
        component_id: ComponentId(r.get(1)?),
        at: r.get::<_, Ts>(2)?.0,
        old: r.get::<_, En<_>>(3)?.0,
        new: r.get::<_, En<_>>(4)?.0,
        source: r.get::<_, En<_>>(5)?.0,
    })
}

/// Sets a live component's status to `new` and records the change; `None` (and no write)
/// when it already has that status or is not live. The writer holds the database's write
/// lock, so the status read here is the one the change starts from.
pub(crate) fn set_status(
    conn: &Connection,
    component: ComponentId,
    new: ComponentStatus,
    source: StatusSource,
    at: DateTime<Utc>,
) -> Res<Option<StatusChange>> {
    let old = conn
        .prepare_cached("SELECT status FROM components WHERE id = ?1 AND deleted_at IS NULL")?
        .query_row([component.get()], |r| r.get::<_, En<ComponentStatus>>(0))
        .optional()?;
    let Some(En(old)) = old else {
        return Ok(None);
    };
    if old == new {
        return Ok(None);
    }
    conn.prepare_cached("UPDATE components SET status = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute([component.get(), new.as_i64(), secs(at)])?;
    conn.prepare_cached(
        "INSERT INTO component_status_changes (component_id, at, old_status, new_status, source) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute([
        component.get(),
        secs(at),
        old.as_i64(),
        new.as_i64(),
        source.as_i64(),
    ])?;
    Ok(Some(StatusChange {
        id: StatusChangeId(conn.last_insert_rowid()),
        component_id: component,
        at: DateTime::from_timestamp(secs(at), 0).unwrap_or(at),
        old,
        new,
        source,
    }))
}

/// One page of a component's changes, newest first.
pub(crate) fn list(
    conn: &Connection,
    component: ComponentId,
    page: u32,
    per_page: u32,
) -> Res<Page<StatusChange>> {
    let q: ListQuery<(), ()> = ListQuery::new(page, per_page, ());
    let mut w = Where::default();
    w.bind("h.component_id = ?", component.get());
    let spec = PageSpec {
        columns: "h.id, h.component_id, h.at, h.old_status, h.new_status, h.source",
        from: "component_status_changes h",
        filter: &w,
        order: "h.id DESC".to_owned(),
    };
    let (items, total) = fetch_page(conn, &spec, &q, row)?;
    Ok(Page { items, total })
}

/// Deletes a component's history and holds (with the component).
pub(crate) fn delete_for(conn: &Connection, component: ComponentId) -> Res<()> {
    conn.prepare_cached("DELETE FROM component_status_changes WHERE component_id = ?1")?
        .execute([component.get()])?;
    conn.prepare_cached("DELETE FROM maintenance_holds WHERE component_id = ?1")?
        .execute([component.get()])?;
    Ok(())
}

/// Runs [`maintenance::plan`] over the live schedules that are not Complete, every hold and
/// the statuses they name, and writes what it says. Inside the write transaction, so
/// nothing changes in between.
pub(crate) fn reconcile(conn: &Connection, now: DateTime<Utc>) -> Res<Vec<StatusChange>> {
    let schedules = schedules::not_complete(conn)?;
    let mut holds_stmt = conn.prepare_cached(
        "SELECT schedule_id, component_id, restore_status, applied_status FROM maintenance_holds",
    )?;
    let holds = holds_stmt
        .query_map([], |r| {
            Ok(Hold {
                schedule_id: ScheduleId(r.get(0)?),
                component_id: ComponentId(r.get(1)?),
                restore: r.get::<_, En<_>>(2)?.0,
                applied: r.get::<_, En<_>>(3)?.0,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let named = schedules
        .iter()
        .flat_map(|s| s.components.iter().map(|r| r.component_id))
        .chain(holds.iter().map(|h| h.component_id));
    let mut status_stmt = conn.prepare_cached(
        "SELECT id, status FROM components WHERE deleted_at IS NULL \
         AND id IN (SELECT value FROM json_each(?1))",
    )?;
    let statuses = status_stmt
        .query_map([id_array(named.map(ComponentId::get))], |r| {
            Ok((
                ComponentId(r.get(0)?),
                r.get::<_, En<ComponentStatus>>(1)?.0,
            ))
        })?
        .collect::<rusqlite::Result<BTreeMap<_, _>>>()?;
    let plan = maintenance::plan(now, &schedules, &holds, &statuses);
    let mut written = Vec::new();
    let mut clear = conn.prepare_cached("DELETE FROM maintenance_holds WHERE component_id = ?1")?;
    let mut hold = conn.prepare_cached(
        "INSERT INTO maintenance_holds (schedule_id, component_id, restore_status, applied_status) \
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for cp in plan.components {
        if let Some((_, new)) = cp.change {
            written.extend(set_status(
                conn,
                cp.component_id,
                new,
                StatusSource::Maintenance,
                now,
            )?);
        }
        clear.execute([cp.component_id.get()])?;
        for h in cp.holds {
            hold.execute([
                h.schedule_id.get(),
                h.component_id.get(),
                h.restore.as_i64(),
                h.applied.as_i64(),
            ])?;
        }
    }
    Ok(written)
}
