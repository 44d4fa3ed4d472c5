//! Components (soft-deleted), their tags, and component groups.

use std::collections::HashMap;

use cachet_core::enums::StatusSource;
use cachet_core::error::Entity;
use cachet_core::ids::{ComponentId, GroupId};
use cachet_core::model::{Component, ComponentGroup, Tag};
use cachet_core::store::{
    now, ComponentChanges, ComponentFilter, ComponentSort, GroupChanges, GroupFilter, GroupSort,
    ListQuery, NewComponent, NewGroup, Page,
};
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::conv::{id_array, secs, En, JsonValue, Ts};
use crate::error::{not_found, Res};
use crate::history;
use crate::query::{fetch_page, order_by, PageSpec, Set, Where};

const COLUMNS: &str = r#"c.id, c.name, c.description, c.link, c.status, c."order", c.group_id, c.enabled, c.meta, c.created_at, c.updated_at"#;

/// Reads a row of [`COLUMNS`], by position (a lookup by name scans the column names for every
/// field of every row).
fn row(r: &Row<'_>) -> rusqlite::Result<Component> {
    Ok(Component {
        id: ComponentId(r.get(0)?),
        name: r.get(1)?,
        description: r.get(2)?,
        link: r.get(3)?,
        status: r.get::<_, En<_>>(4)?.0,
        order: r.get(5)?,
        group_id: r.get::<_, Option<i64>>(6)?.map(GroupId),
        enabled: r.get(7)?,
        meta: r.get::<_, Option<JsonValue>>(8)?.map(|j| j.0),
        tags: Vec::new(),
        created_at: r.get::<_, Ts>(9)?.0,
        updated_at: r.get::<_, Ts>(10)?.0,
    })
}

fn sort_column(s: ComponentSort) -> &'static str {
    match s {
        ComponentSort::Id => "c.id",
        ComponentSort::Name => "c.name",
        ComponentSort::Status => "c.status",
        ComponentSort::Order => r#"c."order""#,
        // Ungrouped sorts as group 0 (ids start at 1), as in the reference store.
        ComponentSort::GroupId => "COALESCE(c.group_id, 0)",
        ComponentSort::Enabled => "c.enabled",
    }
}

/// True when a component with this id exists and is not deleted.
pub(crate) fn is_live(conn: &Connection, id: ComponentId) -> Res<bool> {
    let found = conn
        .prepare_cached("SELECT 1 FROM components WHERE id = ?1 AND deleted_at IS NULL")?
        .query_row([id.get()], |_| Ok(()))
        .optional()?;
    Ok(found.is_some())
}

/// Fills the tags (sorted by slug) of `components` with one query.
pub(crate) fn fill_tags(conn: &Connection, components: &mut [Component]) -> Res<()> {
    if components.is_empty() {
        return Ok(());
    }
    let mut stmt = conn.prepare_cached(
        "SELECT ct.component_id, t.slug, t.name FROM component_tags ct JOIN tags t ON t.id = ct.tag_id \
         WHERE ct.component_id IN (SELECT value FROM json_each(?1)) ORDER BY ct.component_id, t.slug",
    )?;
    let mut by_component: HashMap<i64, Vec<Tag>> = HashMap::new();
    let rows = stmt.query_map([id_array(components.iter().map(|c| c.id.get()))], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            Tag {
                slug: r.get(1)?,
                name: r.get(2)?,
            },
        ))
    })?;
    for row in rows {
        let (id, tag) = row?;
        by_component.entry(id).or_default().push(tag);
    }
    for c in components {
        c.tags = by_component.remove(&c.id.get()).unwrap_or_default();
    }
    Ok(())
}

fn set_tags(conn: &Connection, id: ComponentId, tags: &[Tag]) -> Res<()> {
    conn.prepare_cached("DELETE FROM component_tags WHERE component_id = ?1")?
        .execute([id.get()])?;
    let mut create = conn.prepare_cached(
        "INSERT INTO tags (name, slug) VALUES (?1, ?2) ON CONFLICT (slug) DO NOTHING",
    )?;
    let mut find = conn.prepare_cached("SELECT id FROM tags WHERE slug = ?1")?;
    let mut link = conn.prepare_cached(
        "INSERT OR IGNORE INTO component_tags (component_id, tag_id) VALUES (?1, ?2)",
    )?;
    for tag in tags {
        create.execute(params![tag.name, tag.slug])?;
        let tag_id: i64 = find.query_row([&tag.slug], |r| r.get(0))?;
        link.execute([id.get(), tag_id])?;
    }
    Ok(())
}

/// Every live component, by order then id, with tags.
pub(crate) fn all_live(conn: &Connection) -> Res<Vec<Component>> {
    let sql = format!(
        r#"SELECT {COLUMNS} FROM components c WHERE c.deleted_at IS NULL ORDER BY c."order", c.id"#
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut items = stmt
        .query_map([], row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    fill_tags(conn, &mut items)?;
    Ok(items)
}

pub(crate) fn list(
    conn: &Connection,
    q: &ListQuery<ComponentSort, ComponentFilter>,
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
        w.bind(r#"c."order" = ?"#, order);
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
        w.bind(
            "c.id IN (SELECT ct.component_id FROM component_tags ct JOIN tags t ON t.id = ct.tag_id \
             WHERE t.slug IN (SELECT value FROM json_each(?)))",
            serde_json::to_string(&f.tags)?,
        );
    }
    if f.public_only {
        w.raw(
            // A group id naming no group counts as ungrouped, as in the reference store.
            "c.enabled = 1 AND NOT EXISTS \
             (SELECT 1 FROM component_groups g WHERE g.id = c.group_id AND g.visible <> 1)",
        );
    }
    let spec = PageSpec {
        columns: COLUMNS,
        from: "components c",
        filter: &w,
        order: order_by(q.sort.map(|(s, o)| (sort_column(s), o)), "c.id", "c.id ASC"),
    };
    let (mut items, total) = fetch_page(conn, &spec, q, row)?;
    fill_tags(conn, &mut items)?;
    Ok(Page { items, total })
}

pub(crate) fn get(conn: &Connection, id: ComponentId) -> Res<Component> {
    let sql =
        format!("SELECT {COLUMNS} FROM components c WHERE c.id = ?1 AND c.deleted_at IS NULL");
    let Some(c) = conn
        .prepare_cached(&sql)?
        .query_row([id.get()], row)
        .optional()?
    else {
        return not_found(Entity::Component);
    };
    let mut one = [c];
    fill_tags(conn, &mut one)?;
    let [c] = one;
    Ok(c)
}

fn meta_value(meta: Option<&serde_json::Value>) -> Value {
    meta.map_or(Value::Null, |m| Value::Text(m.to_string()))
}

pub(crate) fn create(conn: &Connection, new: NewComponent) -> Res<Component> {
    let at = secs(now());
    conn.prepare_cached(
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
        meta_value(new.meta.as_ref()),
        at,
    ])?;
    let id = ComponentId(conn.last_insert_rowid());
    set_tags(conn, id, &new.tags)?;
    get(conn, id)
}

pub(crate) fn update(
    conn: &Connection,
    id: ComponentId,
    changes: ComponentChanges,
    source: StatusSource,
) -> Res<Component> {
    if !is_live(conn, id)? {
        return not_found(Entity::Component);
    }
    if let Some(status) = changes.status {
        let at = now();
        if history::set_status(conn, id, status, source, at)?.is_some() {
            crate::outbox::enqueue(conn, changes.notice.clone(), Some(id.get()), None, at)?;
        }
    }
    let mut set = Set::default();
    set.set_some("name", changes.name);
    set.set_some("description", changes.description);
    set.set_some("link", changes.link);
    set.set_some(r#""order""#, changes.order);
    set.set_some("group_id", changes.group_id.map(|g| g.map(GroupId::get)));
    set.set_some("enabled", changes.enabled);
    set.set_some("meta", changes.meta.map(|m| meta_value(m.as_ref())));
    set.set("updated_at", secs(now()));
    set.execute(conn, "components", id.get())?;
    if let Some(tags) = changes.tags {
        set_tags(conn, id, &tags)?;
    }
    get(conn, id)
}

pub(crate) fn delete(conn: &Connection, id: ComponentId) -> Res<()> {
    let changed = conn
        .prepare_cached(
            "UPDATE components SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL",
        )?
        .execute([id.get(), secs(now())])?;
    if changed == 0 {
        return not_found(Entity::Component);
    }
    conn.prepare_cached("DELETE FROM subscriptions WHERE component_id = ?1")?
        .execute([id.get()])?;
    history::delete_for(conn, id)?;
    Ok(())
}

// ---- groups

const GROUP_COLUMNS: &str =
    r#"g.id, g.name, g."order", g.collapsed, g.visible, g.created_at, g.updated_at"#;

fn group_row(r: &Row<'_>) -> rusqlite::Result<ComponentGroup> {
    Ok(ComponentGroup {
        id: GroupId(r.get("id")?),
        name: r.get("name")?,
        order: r.get("order")?,
        collapsed: r.get::<_, En<_>>("collapsed")?.0,
        visible: r.get::<_, En<_>>("visible")?.0,
        created_at: r.get::<_, Ts>("created_at")?.0,
        updated_at: r.get::<_, Ts>("updated_at")?.0,
    })
}

fn group_sort_column(s: GroupSort) -> &'static str {
    match s {
        GroupSort::Id => "g.id",
        GroupSort::Name => "g.name",
        GroupSort::Order => r#"g."order""#,
        GroupSort::Collapsed => "g.collapsed",
        GroupSort::Visible => "g.visible",
    }
}

/// Every group, by order then id.
pub(crate) fn all_groups(conn: &Connection) -> Res<Vec<ComponentGroup>> {
    let sql = format!(r#"SELECT {GROUP_COLUMNS} FROM component_groups g ORDER BY g."order", g.id"#);
    let mut stmt = conn.prepare_cached(&sql)?;
    let items = stmt
        .query_map([], group_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(items)
}

pub(crate) fn list_groups(
    conn: &Connection,
    q: &ListQuery<GroupSort, GroupFilter>,
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
        w.bind(r#"g."order" = ?"#, order);
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
        order: order_by(
            q.sort.map(|(s, o)| (group_sort_column(s), o)),
            "g.id",
            "g.id ASC",
        ),
    };
    let (items, total) = fetch_page(conn, &spec, q, group_row)?;
    Ok(Page { items, total })
}

pub(crate) fn get_group(conn: &Connection, id: GroupId) -> Res<ComponentGroup> {
    let sql = format!("SELECT {GROUP_COLUMNS} FROM component_groups g WHERE g.id = ?1");
    match conn
        .prepare_cached(&sql)?
        .query_row([id.get()], group_row)
        .optional()?
    {
        Some(g) => Ok(g),
        None => not_found(Entity::Group),
    }
}

pub(crate) fn create_group(conn: &Connection, new: NewGroup) -> Res<ComponentGroup> {
    let at = secs(now());
    conn.prepare_cached(
        r#"INSERT INTO component_groups (name, "order", collapsed, visible, created_at, updated_at)
           VALUES (?1, ?2, ?3, ?4, ?5, ?5)"#,
    )?
    .execute(params![
        new.name,
        new.order,
        new.collapsed.as_i64(),
        new.visible.as_i64(),
        at
    ])?;
    get_group(conn, GroupId(conn.last_insert_rowid()))
}

pub(crate) fn update_group(
    conn: &Connection,
    id: GroupId,
    changes: GroupChanges,
) -> Res<ComponentGroup> {
    let mut set = Set::default();
    set.set_some("name", changes.name);
    set.set_some(r#""order""#, changes.order);
    set.set_some("collapsed", changes.collapsed.map(i64::from));
    set.set_some("visible", changes.visible.map(i64::from));
    set.set("updated_at", secs(now()));
    if set.execute(conn, "component_groups", id.get())? == 0 {
        return not_found(Entity::Group);
    }
    get_group(conn, id)
}

pub(crate) fn delete_group(conn: &Connection, id: GroupId) -> Res<()> {
    if conn
        .prepare_cached("DELETE FROM component_groups WHERE id = ?1")?
        .execute([id.get()])?
        == 0
    {
        return not_found(Entity::Group);
    }
    // Deleted components too: afterwards no component has the id.
    conn.prepare_cached("UPDATE components SET group_id = NULL WHERE group_id = ?1")?
        .execute([id.get()])?;
    Ok(())
}
