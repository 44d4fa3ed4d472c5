//! Incident templates, settings, the audit log and the status page overview.

use cachet_core::error::Entity;
use cachet_core::ids::{AuditId, TemplateId, UserId};
use cachet_core::model::{AuditEntry, IncidentTemplate};
use cachet_core::store::{
    now, AuditFilter, AuditSort, ListQuery, NewAuditEntry, NewTemplate, Overview, Page,
    TemplateChanges, TemplateSort,
};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::conv::{secs, secs_ceil, Ts};
use crate::error::{not_found, Res};
use crate::query::{fetch_page, order_by, PageSpec, Set, Where};
use crate::{components, incidents, schedules};

// ---- templates

const TEMPLATE_COLUMNS: &str = "t.id, t.name, t.slug, t.template, t.created_at, t.updated_at";

fn template_row(r: &Row<'_>) -> rusqlite::Result<IncidentTemplate> {
    Ok(IncidentTemplate {
        id: TemplateId(r.get("id")?),
        name: r.get("name")?,
        slug: r.get("slug")?,
        template: r.get("template")?,
        created_at: r.get::<_, Ts>("created_at")?.0,
        updated_at: r.get::<_, Ts>("updated_at")?.0,
    })
}

fn template_sort_column(s: TemplateSort) -> &'static str {
    match s {
        TemplateSort::Id => "t.id",
        TemplateSort::Name => "t.name",
        TemplateSort::Slug => "t.slug",
    }
}

pub(crate) fn list_templates(
    conn: &Connection,
    q: &ListQuery<TemplateSort, ()>,
) -> Res<Page<IncidentTemplate>> {
    let w = Where::default();
    let spec = PageSpec {
        columns: TEMPLATE_COLUMNS,
        from: "incident_templates t",
        filter: &w,
        order: order_by(
            q.sort.map(|(s, o)| (template_sort_column(s), o)),
            "t.id",
            "t.id ASC",
        ),
    };
    let (items, total) = fetch_page(conn, &spec, q, template_row)?;
    Ok(Page { items, total })
}

pub(crate) fn get_template(conn: &Connection, id: TemplateId) -> Res<IncidentTemplate> {
    let sql = format!("SELECT {TEMPLATE_COLUMNS} FROM incident_templates t WHERE t.id = ?1");
    match conn
        .prepare_cached(&sql)?
        .query_row([id.get()], template_row)
        .optional()?
    {
        Some(t) => Ok(t),
        None => not_found(Entity::Template),
    }
}

pub(crate) fn get_template_by_slug(conn: &Connection, slug: &str) -> Res<IncidentTemplate> {
    let sql = format!("SELECT {TEMPLATE_COLUMNS} FROM incident_templates t WHERE t.slug = ?1");
    match conn
        .prepare_cached(&sql)?
        .query_row([slug], template_row)
        .optional()?
    {
        Some(t) => Ok(t),
        None => not_found(Entity::Template),
    }
}

/// A taken slug surfaces as the UNIQUE constraint's error, classified as `Conflict`.
pub(crate) fn create_template(conn: &Connection, new: NewTemplate) -> Res<IncidentTemplate> {
    conn.prepare_cached(
        "INSERT INTO incident_templates (name, slug, template, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
    )?
    .execute(params![new.name, new.slug, new.template, secs(now())])?;
    get_template(conn, TemplateId(conn.last_insert_rowid()))
}

pub(crate) fn update_template(
    conn: &Connection,
    id: TemplateId,
    changes: TemplateChanges,
) -> Res<IncidentTemplate> {
    get_template(conn, id)?;
    let mut set = Set::default();
    set.set_some("name", changes.name);
    set.set_some("slug", changes.slug);
    set.set_some("template", changes.template);
    set.set("updated_at", secs(now()));
    set.execute(conn, "incident_templates", id.get())?;
    get_template(conn, id)
}

pub(crate) fn delete_template(conn: &Connection, id: TemplateId) -> Res<()> {
    if conn
        .prepare_cached("DELETE FROM incident_templates WHERE id = ?1")?
        .execute([id.get()])?
        == 0
    {
        return not_found(Entity::Template);
    }
    Ok(())
}

// ---- settings

pub(crate) fn load_settings(conn: &Connection) -> Res<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached("SELECT key, value FROM settings ORDER BY key")?;
    let pairs = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(pairs)
}

pub(crate) fn save_settings(conn: &Connection, pairs: Vec<(String, String)>) -> Res<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?;
    for (key, value) in pairs {
        stmt.execute([key, value])?;
    }
    Ok(())
}

pub(crate) fn claim_setting(conn: &Connection, key: &str, value: &str) -> Res<String> {
    conn.prepare_cached(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
    )?
    .execute([key, value])?;
    Ok(conn
        .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
        .query_row([key], |r| r.get(0))?)
}

// ---- audit

const AUDIT_COLUMNS: &str = "a.id, a.at, a.user_id, a.kind, a.detail";

fn audit_row(r: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        id: AuditId(r.get("id")?),
        at: r.get::<_, Ts>("at")?.0,
        user_id: r.get::<_, Option<i64>>("user_id")?.map(UserId),
        kind: r.get("kind")?,
        detail: r.get("detail")?,
    })
}

fn audit_sort_column(s: AuditSort) -> &'static str {
    match s {
        AuditSort::Id => "a.id",
        AuditSort::At => "a.at",
    }
}

pub(crate) fn append_audit(conn: &Connection, entry: NewAuditEntry) -> Res<AuditEntry> {
    conn.prepare_cached(
        "INSERT INTO audit_log (at, user_id, kind, detail) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        secs(now()),
        entry.user_id.map(UserId::get),
        entry.kind,
        entry.detail
    ])?;
    let sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log a WHERE a.id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([conn.last_insert_rowid()], audit_row)?)
}

pub(crate) fn list_audit(
    conn: &Connection,
    q: &ListQuery<AuditSort, AuditFilter>,
) -> Res<Page<AuditEntry>> {
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
        order: order_by(
            q.sort.map(|(s, o)| (audit_sort_column(s), o)),
            "a.id",
            "a.id DESC",
        ),
    };
    let (items, total) = fetch_page(conn, &spec, q, audit_row)?;
    Ok(Page { items, total })
}

// ---- overview

/// Everything the status page shows, read in one transaction (one snapshot).
pub(crate) fn overview(conn: &Connection, since: DateTime<Utc>) -> Res<Overview> {
    Ok(Overview {
        components: components::all_live(conn)?,
        groups: components::all_groups(conn)?,
        incidents: incidents::for_overview(conn, since)?,
        schedules: schedules::for_overview(conn, since)?,
    })
}
