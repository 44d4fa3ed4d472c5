//! Subscribers and their per-component subscriptions.

use std::collections::HashMap;

use cachet_core::error::Entity;
use cachet_core::ids::{ComponentId, SubscriberId, SubscriptionId};
use cachet_core::model::{SealedEmail, Subscriber, Subscription};
use cachet_core::store::{
    now, ListQuery, NewSubscriber, Page, StoredSubscriber, SubscribeTo, SubscriberSort,
};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::components;
use crate::conv::{id_array, opt_ts, secs, Hash, Ts};
use crate::error::{is_unique_violation, not_found, Res};
use crate::query::{fetch_page, order_by, PageSpec, Where};

const COLUMNS: &str = "s.id, s.email, s.email_sealed, s.verify_code_hash, s.phone_number, s.slack_webhook_url, s.verified_at, s.global, \
                       s.created_at, s.updated_at";

fn row(r: &Row<'_>) -> rusqlite::Result<StoredSubscriber> {
    Ok(Subscriber {
        id: SubscriberId(r.get("id")?),
        // A row from before sealing has no sealed part: "" (the service reads `lookup` as
        // the address then).
        email: SealedEmail {
            lookup: r.get("email")?,
            sealed: r
                .get::<_, Option<String>>("email_sealed")?
                .unwrap_or_default(),
        },
        verify_code_hash: r.get::<_, Hash>("verify_code_hash")?.0,
        phone_number: r.get("phone_number")?,
        slack_webhook_url: r.get("slack_webhook_url")?,
        verified_at: opt_ts(r.get("verified_at")?),
        global: r.get("global")?,
        subscriptions: Vec::new(),
        created_at: r.get::<_, Ts>("created_at")?.0,
        updated_at: r.get::<_, Ts>("updated_at")?.0,
    })
}

fn sort_column(s: SubscriberSort) -> &'static str {
    match s {
        SubscriberSort::Id => "s.id",
        SubscriberSort::CreatedAt => "s.created_at",
    }
}

/// Fills the subscriptions (creation order) of `subscribers` with one query.
fn fill_subscriptions(conn: &Connection, subscribers: &mut [StoredSubscriber]) -> Res<()> {
    if subscribers.is_empty() {
        return Ok(());
    }
    let mut stmt = conn.prepare_cached(
        "SELECT id, subscriber_id, component_id, created_at, updated_at FROM subscriptions \
         WHERE subscriber_id IN (SELECT value FROM json_each(?1)) ORDER BY id",
    )?;
    let mut by_subscriber: HashMap<i64, Vec<Subscription>> = HashMap::new();
    let rows = stmt.query_map([id_array(subscribers.iter().map(|s| s.id.get()))], |r| {
        Ok(Subscription {
            id: SubscriptionId(r.get("id")?),
            subscriber_id: SubscriberId(r.get("subscriber_id")?),
            component_id: ComponentId(r.get("component_id")?),
            created_at: r.get::<_, Ts>("created_at")?.0,
            updated_at: r.get::<_, Ts>("updated_at")?.0,
        })
    })?;
    for s in rows {
        let s = s?;
        by_subscriber
            .entry(s.subscriber_id.get())
            .or_default()
            .push(s);
    }
    for s in subscribers {
        s.subscriptions = by_subscriber.remove(&s.id.get()).unwrap_or_default();
    }
    Ok(())
}

fn with_subscriptions(conn: &Connection, s: StoredSubscriber) -> Res<StoredSubscriber> {
    let mut one = [s];
    fill_subscriptions(conn, &mut one)?;
    let [s] = one;
    Ok(s)
}

pub(crate) fn find(conn: &Connection, lookup: &str) -> Res<Option<StoredSubscriber>> {
    let sql = format!("SELECT {COLUMNS} FROM subscribers s WHERE s.email = ?1");
    match conn
        .prepare_cached(&sql)?
        .query_row([lookup], row)
        .optional()?
    {
        Some(s) => Ok(Some(with_subscriptions(conn, s)?)),
        None => Ok(None),
    }
}

pub(crate) fn list(
    conn: &Connection,
    q: &ListQuery<SubscriberSort, ()>,
) -> Res<Page<StoredSubscriber>> {
    let w = Where::default();
    let spec = PageSpec {
        columns: COLUMNS,
        from: "subscribers s",
        filter: &w,
        order: order_by(q.sort.map(|(s, o)| (sort_column(s), o)), "s.id", "s.id ASC"),
    };
    let (mut items, total) = fetch_page(conn, &spec, q, row)?;
    fill_subscriptions(conn, &mut items)?;
    Ok(Page { items, total })
}

pub(crate) fn get(conn: &Connection, id: SubscriberId) -> Res<StoredSubscriber> {
    let sql = format!("SELECT {COLUMNS} FROM subscribers s WHERE s.id = ?1");
    match conn
        .prepare_cached(&sql)?
        .query_row([id.get()], row)
        .optional()?
    {
        Some(s) => with_subscriptions(conn, s),
        None => not_found(Entity::Subscriber),
    }
}

/// Runs inside one `BEGIN IMMEDIATE` transaction: the look-up and the insert cannot be
/// separated by another writer, so concurrent calls for one email create one subscriber.
pub(crate) fn create(conn: &Connection, new: NewSubscriber) -> Res<(StoredSubscriber, bool)> {
    if let Some(existing) = find(conn, &new.email.lookup)? {
        return Ok((existing, false));
    }
    let at = secs(now());
    let inserted = conn
        .prepare_cached(
            "INSERT INTO subscribers (email, email_sealed, verify_code_hash, verified_at, global, \
             created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        )?
        .execute(params![
            new.email.lookup,
            new.email.sealed,
            new.verify_code_hash.to_hex(),
            new.verified_at.map(secs),
            new.global,
            at
        ]);
    match inserted {
        Ok(_) => {}
        // Not reachable through this store (the transaction holds the write lock), but a
        // unique email is the rule whoever inserted it: answer with the existing row.
        Err(e) if is_unique_violation(&e) => {
            return match find(conn, &new.email.lookup)? {
                Some(existing) => Ok((existing, false)),
                None => Err(e.into()),
            };
        }
        Err(e) => return Err(e.into()),
    }
    let id = SubscriberId(conn.last_insert_rowid());
    subscribe(conn, id, new.subscribe_to, at)?;
    crate::outbox::enqueue(conn, new.notice, Some(id.get()), Some(id), now())?;
    Ok((get(conn, id)?, true))
}

/// Subscribes `id` to `to` (live components only), at `at` (unix seconds).
fn subscribe(conn: &Connection, id: SubscriberId, to: SubscribeTo, at: i64) -> Res<()> {
    let targets: Vec<ComponentId> = match to {
        SubscribeTo::AllComponents => conn
            .prepare_cached("SELECT id FROM components WHERE deleted_at IS NULL ORDER BY id")?
            .query_map([], |r| r.get(0).map(ComponentId))?
            .collect::<rusqlite::Result<Vec<_>>>()?,
        SubscribeTo::Components(ids) => ids,
    };
    let mut insert = conn.prepare_cached(
        "INSERT INTO subscriptions (subscriber_id, component_id, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
    )?;
    for component in targets {
        if components::is_live(conn, component)? {
            insert.execute([id.get(), component.get(), at])?;
        }
    }
    Ok(())
}

pub(crate) fn verify(conn: &Connection, id: SubscriberId, at: DateTime<Utc>) -> Res<bool> {
    get(conn, id)?;
    let changed = conn
        .prepare_cached(
            "UPDATE subscribers SET verified_at = ?2, updated_at = ?2 WHERE id = ?1 AND verified_at IS NULL",
        )?
        .execute([id.get(), secs(at)])?;
    Ok(changed == 1)
}

pub(crate) fn set_subscriptions(
    conn: &Connection,
    id: SubscriberId,
    global: bool,
    to: SubscribeTo,
) -> Res<StoredSubscriber> {
    get(conn, id)?;
    let at = secs(now());
    conn.prepare_cached("DELETE FROM subscriptions WHERE subscriber_id = ?1")?
        .execute([id.get()])?;
    conn.prepare_cached("UPDATE subscribers SET global = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute(params![id.get(), global, at])?;
    subscribe(conn, id, to, at)?;
    get(conn, id)
}

pub(crate) fn delete(conn: &Connection, id: SubscriberId) -> Res<()> {
    conn.prepare_cached("DELETE FROM subscriptions WHERE subscriber_id = ?1")?
        .execute([id.get()])?;
    if conn
        .prepare_cached("DELETE FROM subscribers WHERE id = ?1")?
        .execute([id.get()])?
        == 0
    {
        return not_found(Entity::Subscriber);
    }
    Ok(())
}

pub(crate) fn delete_subscription(conn: &Connection, id: SubscriptionId) -> Res<()> {
    if conn
        .prepare_cached("DELETE FROM subscriptions WHERE id = ?1")?
        .execute([id.get()])?
        == 0
    {
        return not_found(Entity::Subscription);
    }
    Ok(())
}

/// Rows from before addresses were sealed: id and the address in clear.
pub(crate) fn unsealed(conn: &Connection) -> Res<Vec<(SubscriberId, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, email FROM subscribers WHERE email_sealed IS NULL ORDER BY id",
    )?;
    let rows = stmt
        .query_map([], |r| Ok((SubscriberId(r.get(0)?), r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(crate) fn seal(conn: &Connection, id: SubscriberId, email: SealedEmail) -> Res<()> {
    get(conn, id)?;
    let taken = conn
        .prepare_cached("SELECT 1 FROM subscribers WHERE email = ?1 AND id <> ?2")?
        .query_row(params![email.lookup, id.get()], |_| Ok(()))
        .optional()?;
    if taken.is_some() {
        return Err(crate::error::Fail::Store(
            cachet_core::StoreError::Conflict("email is taken".into()),
        ));
    }
    conn.prepare_cached("UPDATE subscribers SET email = ?2, email_sealed = ?3 WHERE id = ?1")?
        .execute(params![id.get(), email.lookup, email.sealed])?;
    Ok(())
}
