//! Outbound webhooks (see `cachet_core::webhook`).

use cachet_core::error::Entity;
use cachet_core::ids::WebhookId;
use cachet_core::webhook::{events_text, parse_events_text, NewWebhook, Webhook, WebhookPatch};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::conv::{secs, Ts};
use crate::error::{not_found, Res};

const COLUMNS: &str = "id, url, events, enabled, secret_sealed, created_at, updated_at";

fn row(r: &Row<'_>) -> rusqlite::Result<Webhook> {
    Ok(Webhook {
        id: WebhookId(r.get(0)?),
        url: r.get(1)?,
        events: parse_events_text(&r.get::<_, String>(2)?),
        enabled: r.get::<_, i64>(3)? != 0,
        secret_sealed: r.get(4)?,
        created_at: r.get::<_, Ts>(5)?.0,
        updated_at: r.get::<_, Ts>(6)?.0,
    })
}

pub(crate) fn create(conn: &Connection, new: NewWebhook, at: DateTime<Utc>) -> Res<Webhook> {
    conn.prepare_cached(
        "INSERT INTO webhooks (url, events, enabled, secret_sealed, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    )?
    .execute(params![
        new.url,
        events_text(&new.events),
        i64::from(new.enabled),
        new.secret_sealed,
        secs(at),
    ])?;
    get(conn, WebhookId(conn.last_insert_rowid()))
}

pub(crate) fn list(conn: &Connection) -> Res<Vec<Webhook>> {
    let out = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM webhooks ORDER BY id"))?
        .query_map([], row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(out)
}

pub(crate) fn get(conn: &Connection, id: WebhookId) -> Res<Webhook> {
    match conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM webhooks WHERE id = ?1"))?
        .query_row([id.get()], row)
        .optional()?
    {
        Some(w) => Ok(w),
        None => not_found(Entity::Webhook),
    }
}

pub(crate) fn update(
    conn: &Connection,
    id: WebhookId,
    patch: WebhookPatch,
    at: DateTime<Utc>,
) -> Res<Webhook> {
    let changed = conn
        .prepare_cached(
            "UPDATE webhooks SET url = COALESCE(?2, url), events = COALESCE(?3, events), \
             enabled = COALESCE(?4, enabled), secret_sealed = COALESCE(?5, secret_sealed), \
             updated_at = ?6 WHERE id = ?1",
        )?
        .execute(params![
            id.get(),
            patch.url,
            patch.events.as_deref().map(events_text),
            patch.enabled.map(i64::from),
            patch.secret_sealed,
            secs(at),
        ])?;
    if changed == 0 {
        return not_found(Entity::Webhook);
    }
    get(conn, id)
}

pub(crate) fn delete(conn: &Connection, id: WebhookId) -> Res<()> {
    if conn
        .prepare_cached("DELETE FROM webhooks WHERE id = ?1")?
        .execute([id.get()])?
        == 0
    {
        return not_found(Entity::Webhook);
    }
    Ok(())
}
