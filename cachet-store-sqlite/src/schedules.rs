//! Maintenance windows (soft-deleted) and their affected components.

use std::collections::HashMap;

use cachet_core::enums::{ComponentStatus, ScheduleStatus};
use cachet_core::error::Entity;
use cachet_core::ids::{ComponentId, ScheduleId};
use cachet_core::maintenance::Announced;
use cachet_core::markdown::SafeHtml;
use cachet_core::model::{Schedule, ScheduleComponent};
use cachet_core::store::{now, ListQuery, NewSchedule, Page, ScheduleChanges, ScheduleSort};
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::components;
use crate::conv::{id_array, opt_ts, secs, secs_ceil, En, Ts};
use crate::error::{not_found, Res};
use crate::query::{fetch_page, order_by, PageSpec, Set, Where};

const COLUMNS: &str =
    "s.id, s.name, s.message, s.message_html, s.status, s.scheduled_at, s.completed_at, s.created_at, s.updated_at, s.announced";

fn row(r: &Row<'_>) -> rusqlite::Result<Schedule> {
    Ok(Schedule {
        id: ScheduleId(r.get("id")?),
        name: r.get("name")?,
        message: r.get("message")?,
        message_html: r
            .get::<_, Option<String>>("message_html")?
            .map(SafeHtml::from_stored),
        status: r.get::<_, En<_>>("status")?.0,
        scheduled_at: r.get::<_, Ts>("scheduled_at")?.0,
        completed_at: opt_ts(r.get("completed_at")?),
        announced: Announced::from_i64(r.get("announced")?),
        components: Vec::new(),
        created_at: r.get::<_, Ts>("created_at")?.0,
        updated_at: r.get::<_, Ts>("updated_at")?.0,
    })
}

fn sort_column(s: ScheduleSort) -> &'static str {
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

/// Fills the affected components (in creation order) of `schedules` with one query.
fn fill_components(conn: &Connection, schedules: &mut [Schedule]) -> Res<()> {
    if schedules.is_empty() {
        return Ok(());
    }
    let mut stmt = conn.prepare_cached(
        "SELECT id, schedule_id, component_id, component_status, created_at, updated_at FROM schedule_components \
         WHERE schedule_id IN (SELECT value FROM json_each(?1)) ORDER BY id",
    )?;
    let mut by_schedule: HashMap<i64, Vec<ScheduleComponent>> = HashMap::new();
    let rows = stmt.query_map([id_array(schedules.iter().map(|s| s.id.get()))], |r| {
        Ok(ScheduleComponent {
            id: r.get("id")?,
            schedule_id: ScheduleId(r.get("schedule_id")?),
            component_id: ComponentId(r.get("component_id")?),
            component_status: r.get::<_, En<_>>("component_status")?.0,
            created_at: r.get::<_, Ts>("created_at")?.0,
            updated_at: r.get::<_, Ts>("updated_at")?.0,
        })
    })?;
    for sc in rows {
        let sc = sc?;
        by_schedule
            .entry(sc.schedule_id.get())
            .or_default()
            .push(sc);
    }
    for s in schedules {
        s.components = by_schedule.remove(&s.id.get()).unwrap_or_default();
    }
    Ok(())
}

/// Checks every component first, so a missing one leaves nothing written.
fn check_components(conn: &Connection, list: &[(ComponentId, ComponentStatus)]) -> Res<()> {
    for (component, _) in list {
        if !components::is_live(conn, *component)? {
            return not_found(Entity::Component);
        }
    }
    Ok(())
}

fn insert_components(
    conn: &Connection,
    id: ScheduleId,
    list: &[(ComponentId, ComponentStatus)],
) -> Res<()> {
    let at = secs(now());
    let mut stmt = conn.prepare_cached(
        "INSERT INTO schedule_components (schedule_id, component_id, component_status, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?4)",
    )?;
    for (component, status) in list {
        stmt.execute([id.get(), component.get(), status.as_i64(), at])?;
    }
    Ok(())
}

pub(crate) fn list(conn: &Connection, q: &ListQuery<ScheduleSort, ()>) -> Res<Page<Schedule>> {
    let mut w = Where::default();
    w.raw("s.deleted_at IS NULL");
    let spec = PageSpec {
        columns: COLUMNS,
        from: "schedules s",
        filter: &w,
        order: order_by(q.sort.map(|(s, o)| (sort_column(s), o)), "s.id", "s.id ASC"),
    };
    let (mut items, total) = fetch_page(conn, &spec, q, row)?;
    fill_components(conn, &mut items)?;
    Ok(Page { items, total })
}

pub(crate) fn get(conn: &Connection, id: ScheduleId) -> Res<Schedule> {
    let sql = format!("SELECT {COLUMNS} FROM schedules s WHERE s.id = ?1 AND s.deleted_at IS NULL");
    let Some(schedule) = conn
        .prepare_cached(&sql)?
        .query_row([id.get()], row)
        .optional()?
    else {
        return not_found(Entity::Schedule);
    };
    let mut one = [schedule];
    fill_components(conn, &mut one)?;
    let [schedule] = one;
    Ok(schedule)
}

/// For the status page: live schedules not Complete, or whose end or start is at or after
/// `since`; by `scheduled_at` (then id).
pub(crate) fn for_overview(conn: &Connection, since: DateTime<Utc>) -> Res<Vec<Schedule>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM schedules s WHERE s.deleted_at IS NULL \
           AND (s.status <> ?2 OR s.completed_at >= ?1 OR s.scheduled_at >= ?1) \
         ORDER BY s.scheduled_at, s.id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut items = stmt
        .query_map(
            params![secs_ceil(since), ScheduleStatus::Complete.as_i64()],
            row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    fill_components(conn, &mut items)?;
    Ok(items)
}

/// For maintenance: live schedules that are not Complete (the only ones that can be in
/// progress), with their components.
pub(crate) fn not_complete(conn: &Connection) -> Res<Vec<Schedule>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM schedules s WHERE s.deleted_at IS NULL AND s.status <> ?1 ORDER BY s.id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut items = stmt
        .query_map([ScheduleStatus::Complete.as_i64()], row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    fill_components(conn, &mut items)?;
    Ok(items)
}

pub(crate) fn create(conn: &Connection, new: NewSchedule) -> Res<Schedule> {
    check_components(conn, &new.components)?;
    let at = secs(now());
    let (message, html) = match new.message {
        Some(m) => (Some(m.source), Some(m.html.as_str().to_owned())),
        None => (None, None),
    };
    conn.prepare_cached(
        "INSERT INTO schedules (name, message, message_html, status, scheduled_at, completed_at, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
    )?
    .execute(params![
        new.name,
        message,
        html,
        new.status.as_i64(),
        secs(new.scheduled_at),
        new.completed_at.map(secs),
        at,
    ])?;
    let id = ScheduleId(conn.last_insert_rowid());
    insert_components(conn, id, &new.components)?;
    crate::outbox::enqueue(conn, new.notice, Some(id.get()), None, now())?;
    get(conn, id)
}

pub(crate) fn update(conn: &Connection, id: ScheduleId, changes: ScheduleChanges) -> Res<Schedule> {
    get(conn, id)?;
    if let Some(list) = &changes.components {
        check_components(conn, list)?;
    }
    let mut set = Set::default();
    set.set_some("name", changes.name);
    if let Some(message) = changes.message {
        let (source, html) = match message {
            Some(m) => (
                Value::Text(m.source),
                Value::Text(m.html.as_str().to_owned()),
            ),
            None => (Value::Null, Value::Null),
        };
        set.set("message", source);
        set.set("message_html", html);
    }
    set.set_some("status", changes.status.map(i64::from));
    set.set_some("scheduled_at", changes.scheduled_at.map(secs));
    set.set_some("completed_at", changes.completed_at.map(|c| c.map(secs)));
    set.set("updated_at", secs(now()));
    set.execute(conn, "schedules", id.get())?;
    if let Some(list) = changes.components {
        conn.prepare_cached("DELETE FROM schedule_components WHERE schedule_id = ?1")?
            .execute([id.get()])?;
        insert_components(conn, id, &list)?;
    }
    get(conn, id)
}

pub(crate) fn delete(conn: &Connection, id: ScheduleId) -> Res<()> {
    let changed = conn
        .prepare_cached(
            "UPDATE schedules SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL",
        )?
        .execute([id.get(), secs(now())])?;
    if changed == 0 {
        return not_found(Entity::Schedule);
    }
    Ok(())
}
