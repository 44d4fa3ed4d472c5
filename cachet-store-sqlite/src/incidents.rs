//! Incidents (soft-deleted) and their updates.

use std::collections::HashMap;

use cachet_core::enums::{ComponentStatus, IncidentStatus, StatusSource};
use cachet_core::error::Entity;
use cachet_core::ids::{ComponentId, IncidentId, UpdateId, UserId};
use cachet_core::markdown::SafeHtml;
use cachet_core::model::{Incident, IncidentUpdate};
use cachet_core::store::{
    now, IncidentChanges, IncidentFilter, IncidentSort, IncidentUpdateChanges, ListQuery,
    NewIncident, NewIncidentUpdate, Page, UpdateSort,
};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::conv::{id_array, opt_en, secs, secs_ceil, En, JsonMap, Ts};
use crate::error::{not_found, Res};
use crate::query::{fetch_page, order_by, PageSpec, Set, Where};
use crate::{components, history};

const COLUMNS: &str = "i.id, i.user_id, i.component_id, i.impact, i.name, i.status, i.visible, i.stickied, i.message, \
                       i.message_html, i.occurred_at, i.meta, i.created_at, i.updated_at";

fn row(r: &Row<'_>) -> rusqlite::Result<Incident> {
    Ok(Incident {
        id: IncidentId(r.get("id")?),
        user_id: r.get::<_, Option<i64>>("user_id")?.map(UserId),
        component_id: r.get::<_, Option<i64>>("component_id")?.map(ComponentId),
        impact: opt_en(r.get("impact")?),
        name: r.get("name")?,
        status: r.get::<_, En<_>>("status")?.0,
        visible: r.get::<_, En<_>>("visible")?.0,
        stickied: r.get("stickied")?,
        message: r.get("message")?,
        message_html: SafeHtml::from_stored(r.get("message_html")?),
        occurred_at: r.get::<_, Ts>("occurred_at")?.0,
        meta: r.get::<_, JsonMap>("meta")?.0,
        updates: Vec::new(),
        created_at: r.get::<_, Ts>("created_at")?.0,
        updated_at: r.get::<_, Ts>("updated_at")?.0,
    })
}

fn sort_column(s: IncidentSort) -> &'static str {
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

const UPDATE_COLUMNS: &str = "u.id, u.incident_id, u.status, u.message, u.message_html, u.user_id, u.created_at, u.updated_at";

fn update_row(r: &Row<'_>) -> rusqlite::Result<IncidentUpdate> {
    Ok(IncidentUpdate {
        id: UpdateId(r.get("id")?),
        incident_id: IncidentId(r.get("incident_id")?),
        status: r.get::<_, En<_>>("status")?.0,
        message: r.get("message")?,
        message_html: SafeHtml::from_stored(r.get("message_html")?),
        user_id: r.get::<_, Option<i64>>("user_id")?.map(UserId),
        created_at: r.get::<_, Ts>("created_at")?.0,
        updated_at: r.get::<_, Ts>("updated_at")?.0,
    })
}

fn update_sort_column(s: UpdateSort) -> &'static str {
    match s {
        UpdateSort::Id => "u.id",
        UpdateSort::Status => "u.status",
        UpdateSort::UserId => "u.user_id",
    }
}

/// Fills the updates (newest first) of `incidents` with one query.
fn fill_updates(conn: &Connection, incidents: &mut [Incident]) -> Res<()> {
    if incidents.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "SELECT {UPDATE_COLUMNS} FROM incident_updates u WHERE u.incident_id IN (SELECT value FROM json_each(?1)) \
         ORDER BY u.created_at DESC, u.id DESC"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut by_incident: HashMap<i64, Vec<IncidentUpdate>> = HashMap::new();
    for update in stmt.query_map([id_array(incidents.iter().map(|i| i.id.get()))], update_row)? {
        let update = update?;
        by_incident
            .entry(update.incident_id.get())
            .or_default()
            .push(update);
    }
    for incident in incidents {
        incident.updates = by_incident.remove(&incident.id.get()).unwrap_or_default();
    }
    Ok(())
}

fn is_live(conn: &Connection, id: IncidentId) -> Res<bool> {
    let found = conn
        .prepare_cached("SELECT 1 FROM incidents WHERE id = ?1 AND deleted_at IS NULL")?
        .query_row([id.get()], |_| Ok(()))
        .optional()?;
    Ok(found.is_some())
}

pub(crate) fn list(
    conn: &Connection,
    q: &ListQuery<IncidentSort, IncidentFilter>,
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
        Some(Some(c)) => w.bind("i.component_id = ?", c.get()),
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
        columns: COLUMNS,
        from: "incidents i",
        filter: &w,
        order: order_by(q.sort.map(|(s, o)| (sort_column(s), o)), "i.id", "i.id ASC"),
    };
    let (mut items, total) = fetch_page(conn, &spec, q, row)?;
    fill_updates(conn, &mut items)?;
    Ok(Page { items, total })
}

pub(crate) fn get(conn: &Connection, id: IncidentId) -> Res<Incident> {
    let sql = format!("SELECT {COLUMNS} FROM incidents i WHERE i.id = ?1 AND i.deleted_at IS NULL");
    let Some(incident) = conn
        .prepare_cached(&sql)?
        .query_row([id.get()], row)
        .optional()?
    else {
        return not_found(Entity::Incident);
    };
    let mut one = [incident];
    fill_updates(conn, &mut one)?;
    let [incident] = one;
    Ok(incident)
}

/// For the status page: live incidents that are unresolved (newest update's status, else
/// the incident's own, is not Fixed), stickied, or occurred at or after `since`; newest
/// `occurred_at` first, with updates.
pub(crate) fn for_overview(conn: &Connection, since: DateTime<Utc>) -> Res<Vec<Incident>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM incidents i WHERE i.deleted_at IS NULL AND ( \
           COALESCE((SELECT u.status FROM incident_updates u WHERE u.incident_id = i.id \
                     ORDER BY u.created_at DESC, u.id DESC LIMIT 1), i.status) <> ?2 \
           OR i.stickied = 1 OR i.occurred_at >= ?1) \
         ORDER BY i.occurred_at DESC, i.id DESC"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut items = stmt
        .query_map(
            params![secs_ceil(since), IncidentStatus::Fixed.as_i64()],
            row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    fill_updates(conn, &mut items)?;
    Ok(items)
}

fn set_component_status(
    conn: &Connection,
    component: ComponentId,
    status: ComponentStatus,
) -> Res<()> {
    history::set_status(conn, component, status, StatusSource::Incident, now())?;
    Ok(())
}

pub(crate) fn create(conn: &Connection, new: NewIncident) -> Res<Incident> {
    if let Some(component) = new.component_id {
        if !components::is_live(conn, component)? {
            return not_found(Entity::Component);
        }
    }
    let at = secs(now());
    conn.prepare_cached(
        "INSERT INTO incidents (user_id, component_id, impact, name, status, visible, stickied, message, message_html, \
                                occurred_at, meta, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)",
    )?
    .execute(params![
        new.user_id.map(UserId::get),
        new.component_id.map(ComponentId::get),
        new.impact.map(i64::from),
        new.name,
        new.status.as_i64(),
        new.visible.as_i64(),
        new.stickied,
        new.message.source,
        new.message.html.as_str(),
        secs(new.occurred_at),
        serde_json::to_string(&new.meta)?,
        at,
    ])?;
    let id = IncidentId(conn.last_insert_rowid());
    if let (Some(component), Some(impact)) = (new.component_id, new.impact) {
        set_component_status(conn, component, impact)?;
    }
    crate::outbox::enqueue(conn, new.notice, Some(id.get()), None, now())?;
    get(conn, id)
}

pub(crate) fn update(conn: &Connection, id: IncidentId, changes: IncidentChanges) -> Res<Incident> {
    let current = get(conn, id)?;
    if let Some(Some(component)) = changes.component_id {
        if !components::is_live(conn, component)? {
            return not_found(Entity::Component);
        }
    }
    let mut set = Set::default();
    set.set_some("name", changes.name);
    set.set_some("status", changes.status.map(i64::from));
    set.set_some("visible", changes.visible.map(i64::from));
    set.set_some("stickied", changes.stickied);
    if let Some(message) = changes.message {
        set.set("message", message.source);
        set.set("message_html", message.html.as_str().to_owned());
    }
    set.set_some("occurred_at", changes.occurred_at.map(secs));
    set.set_some(
        "component_id",
        changes.component_id.map(|c| c.map(ComponentId::get)),
    );
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
    set.set("updated_at", secs(now()));
    set.execute(conn, "incidents", id.get())?;
    if let Some(impact) = changes.impact {
        if let Some(component) = changes.component_id.unwrap_or(current.component_id) {
            set_component_status(conn, component, impact)?;
        }
    }
    crate::outbox::enqueue(conn, changes.notice, Some(id.get()), None, now())?;
    get(conn, id)
}

pub(crate) fn delete(conn: &Connection, id: IncidentId) -> Res<()> {
    let changed = conn
        .prepare_cached(
            "UPDATE incidents SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL",
        )?
        .execute([id.get(), secs(now())])?;
    if changed == 0 {
        return not_found(Entity::Incident);
    }
    Ok(())
}

// ---- updates

pub(crate) fn list_updates(
    conn: &Connection,
    incident: IncidentId,
    q: &ListQuery<UpdateSort, ()>,
) -> Res<Page<IncidentUpdate>> {
    if !is_live(conn, incident)? {
        return not_found(Entity::Incident);
    }
    let mut w = Where::default();
    w.bind("u.incident_id = ?", incident.get());
    let spec = PageSpec {
        columns: UPDATE_COLUMNS,
        from: "incident_updates u",
        filter: &w,
        order: order_by(
            q.sort.map(|(s, o)| (update_sort_column(s), o)),
            "u.id",
            "u.created_at DESC, u.id DESC",
        ),
    };
    let (items, total) = fetch_page(conn, &spec, q, update_row)?;
    Ok(Page { items, total })
}

fn find_update(conn: &Connection, incident: IncidentId, id: UpdateId) -> Res<IncidentUpdate> {
    let sql = format!(
        "SELECT {UPDATE_COLUMNS} FROM incident_updates u WHERE u.id = ?1 AND u.incident_id = ?2"
    );
    match conn
        .prepare_cached(&sql)?
        .query_row([id.get(), incident.get()], update_row)
        .optional()?
    {
        Some(u) => Ok(u),
        None => not_found(Entity::IncidentUpdate),
    }
}

pub(crate) fn get_update(
    conn: &Connection,
    incident: IncidentId,
    id: UpdateId,
) -> Res<IncidentUpdate> {
    if !is_live(conn, incident)? {
        return not_found(Entity::Incident);
    }
    find_update(conn, incident, id)
}

pub(crate) fn create_update(
    conn: &Connection,
    incident: IncidentId,
    new: NewIncidentUpdate,
) -> Res<IncidentUpdate> {
    if !is_live(conn, incident)? {
        return not_found(Entity::Incident);
    }
    let at = secs(now());
    conn.prepare_cached(
        "INSERT INTO incident_updates (incident_id, status, message, message_html, user_id, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
    )?
    .execute(params![
        incident.get(),
        new.status.as_i64(),
        new.message.source,
        new.message.html.as_str(),
        new.user_id.map(UserId::get),
        at,
    ])?;
    let id = UpdateId(conn.last_insert_rowid());
    conn.prepare_cached("UPDATE incidents SET status = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute([incident.get(), new.status.as_i64(), at])?;
    crate::outbox::enqueue(conn, new.notice, Some(incident.get()), None, now())?;
    find_update(conn, incident, id)
}

pub(crate) fn update_update(
    conn: &Connection,
    incident: IncidentId,
    id: UpdateId,
    changes: IncidentUpdateChanges,
) -> Res<IncidentUpdate> {
    if !is_live(conn, incident)? {
        return not_found(Entity::Incident);
    }
    find_update(conn, incident, id)?;
    let mut set = Set::default();
    set.set_some("status", changes.status.map(i64::from));
    if let Some(message) = changes.message {
        set.set("message", message.source);
        set.set("message_html", message.html.as_str().to_owned());
    }
    set.set_some("user_id", changes.user_id.map(UserId::get));
    set.set("updated_at", secs(now()));
    set.execute(conn, "incident_updates", id.get())?;
    find_update(conn, incident, id)
}

pub(crate) fn delete_update(conn: &Connection, incident: IncidentId, id: UpdateId) -> Res<()> {
    if !is_live(conn, incident)? {
        return not_found(Entity::Incident);
    }
    let deleted = conn
        .prepare_cached("DELETE FROM incident_updates WHERE id = ?1 AND incident_id = ?2")?
        .execute([id.get(), incident.get()])?;
    if deleted == 0 {
        return not_found(Entity::IncidentUpdate);
    }
    Ok(())
}
