//! The notification outbox: notices queued with the writes that cause them, deliveries
//! claimed by workers. The writer holds the database's write lock for a whole transaction
//! (`BEGIN IMMEDIATE`), so a claim is atomic by itself.

use cachet_core::ids::{DeliveryId, NoticeId, SubscriberId, WebhookId};
use cachet_core::markdown::SafeHtml;
use cachet_core::notify::{
    Audience, Channel, Claim, Delivery, DeliveryState, EventKind, Notice, NoticeRecord, Outcome,
    Target,
};
use cachet_core::store::{DeliveryFilter, DeliverySort, ListQuery, Page};
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params, Connection, Row};

use crate::conv::{id_array, opt_ts, secs, secs_ceil, Ts};
use crate::error::{Corrupt, Res};
use crate::query::{fetch_page, order_by, PageSpec, Where};

/// Queues `notice` (about `entity`) for every subscriber its audience reaches; `created` is
/// the subscriber the calling write creates, if any. Writes nothing when nobody is reached.
/// The audience rule is [`Audience::reaches`], written as SQL.
pub(crate) fn enqueue(
    conn: &Connection,
    notice: Option<Notice>,
    entity: Option<i64>,
    created: Option<SubscriberId>,
    at: DateTime<Utc>,
) -> Res<()> {
    let Some(notice) = notice else {
        return Ok(());
    };
    if notice.audience == Audience::NewSubscriber && created.is_none() {
        // The address was subscribed already: nothing happened to tell anyone about.
        return Ok(());
    }
    for also in notice.also_notices() {
        enqueue(conn, Some(also), entity, created, at)?;
    }
    let audience: Option<(&str, Value)> = match &notice.audience {
        Audience::Nobody => None,
        Audience::Subscriber(id) => Some(("s.id = ?3", Value::Integer(id.get()))),
        Audience::NewSubscriber => match created {
            Some(id) => Some(("s.id = ?3", Value::Integer(id.get()))),
            // The address was subscribed already: nothing happened to tell anyone about.
            None => return Ok(()),
        },
        Audience::Subscribers(components) => Some((
            "s.verified_at IS NOT NULL AND (s.global <> 0 OR EXISTS (SELECT 1 FROM subscriptions x \
             WHERE x.subscriber_id = s.id AND x.component_id IN (SELECT value FROM json_each(?3))))",
            Value::Text(id_array(components.iter().map(|c| c.get()))),
        )),
    };
    let hooks: Vec<i64> = if notice.to_webhooks {
        crate::webhooks::list(conn)?
            .into_iter()
            .filter(|w| w.wants(notice.event))
            .map(|w| w.id.get())
            .collect()
    } else {
        Vec::new()
    };
    conn.prepare_cached(
        "INSERT INTO notices (event, entity_id, subject, text_body, html_body, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        notice.event.as_str(),
        entity,
        notice.subject,
        notice.text,
        notice.html.as_str(),
        secs(at),
    ])?;
    let id = conn.last_insert_rowid();
    let mut queued = 0;
    if let Some((condition, arg)) = audience {
        let sql = format!(
            "INSERT INTO deliveries (notice_id, subscriber_id, state, attempts, next_attempt_at, created_at) \
             SELECT ?1, s.id, 'pending', 0, ?2, ?2 FROM subscribers s WHERE {condition} ORDER BY s.id"
        );
        queued += conn
            .prepare_cached(&sql)?
            .execute(params![id, secs(at), arg])?;
    }
    for hook in hooks {
        queued += conn
            .prepare_cached(
                "INSERT INTO deliveries (notice_id, webhook_id, state, attempts, next_attempt_at, created_at) \
                 VALUES (?1, ?2, 'pending', 0, ?3, ?3)",
            )?
            .execute(params![id, hook, secs(at)])?;
    }
    if queued == 0 {
        conn.prepare_cached("DELETE FROM notices WHERE id = ?1")?
            .execute([id])?;
    }
    Ok(())
}

const COLUMNS: &str = "d.id, d.subscriber_id, d.webhook_id, d.state, d.attempts, d.next_attempt_at, \
     d.last_error, d.delivered_at, d.created_at, n.id AS notice_id, n.event, n.entity_id, n.subject, \
     n.text_body, n.html_body, n.created_at AS notice_created_at";
const FROM: &str = "deliveries d JOIN notices n ON n.id = d.notice_id";

fn row(r: &Row<'_>) -> rusqlite::Result<Delivery> {
    let corrupt = |what: &'static str| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            Box::new(Corrupt(what)),
        )
    };
    let target = match (
        r.get::<_, Option<i64>>("subscriber_id")?,
        r.get::<_, Option<i64>>("webhook_id")?,
    ) {
        (Some(s), None) => Target::Subscriber(SubscriberId(s)),
        (None, Some(w)) => Target::Webhook(WebhookId(w)),
        _ => return Err(corrupt("a delivery has no single recipient")),
    };
    let state: String = r.get("state")?;
    let event: String = r.get("event")?;
    Ok(Delivery {
        id: DeliveryId(r.get("id")?),
        notice: NoticeRecord {
            id: NoticeId(r.get("notice_id")?),
            event: EventKind::parse(&event).ok_or_else(|| corrupt("unknown notice event"))?,
            entity_id: r.get("entity_id")?,
            subject: r.get("subject")?,
            text: r.get("text_body")?,
            html: SafeHtml::from_stored(r.get("html_body")?),
            created_at: r.get::<_, Ts>("notice_created_at")?.0,
        },
        target,
        state: DeliveryState::parse(&state).ok_or_else(|| corrupt("unknown delivery state"))?,
        attempts: r.get("attempts")?,
        next_attempt_at: r.get::<_, Ts>("next_attempt_at")?.0,
        last_error: r.get("last_error")?,
        delivered_at: opt_ts(r.get("delivered_at")?),
        created_at: r.get::<_, Ts>("created_at")?.0,
    })
}

pub(crate) fn claim(conn: &Connection, claim: &Claim) -> Res<Vec<Delivery>> {
    let channel = match claim.channel {
        Channel::Mail => "subscriber_id IS NOT NULL",
        Channel::Webhook => "webhook_id IS NOT NULL",
    };
    let ids: Vec<i64> = conn
        .prepare_cached(&format!(
            "UPDATE deliveries SET attempts = attempts + 1, lease_token = ?1, lease_until = ?2 \
             WHERE id IN (SELECT id FROM deliveries WHERE state = 'pending' AND next_attempt_at <= ?3 \
                          AND (lease_until IS NULL OR lease_until <= ?3) AND {channel} \
                          ORDER BY next_attempt_at, id LIMIT ?4) \
             RETURNING id"
        ))?
        .query_map(
            params![
                claim.token,
                // Rounded up: a stored lease never ends before the one the worker holds.
                secs_ceil(claim.lease_until),
                secs(claim.now),
                i64::from(claim.limit)
            ],
            |r| r.get(0),
        )?
        .collect::<rusqlite::Result<_>>()?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE d.id IN (SELECT value FROM json_each(?1)) \
         ORDER BY d.next_attempt_at, d.id"
    );
    let out = conn
        .prepare_cached(&sql)?
        .query_map([id_array(ids)], row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(out)
}

pub(crate) fn finish(
    conn: &Connection,
    id: DeliveryId,
    token: &str,
    outcome: Outcome,
) -> Res<bool> {
    let changed = conn
        .prepare_cached(
            "UPDATE deliveries SET state = ?3, last_error = ?4, delivered_at = ?5, \
             next_attempt_at = COALESCE(?6, next_attempt_at), lease_token = NULL, lease_until = NULL \
             WHERE id = ?1 AND lease_token = ?2 AND state = 'pending'",
        )?
        .execute(params![
            id.get(),
            token,
            outcome.state().as_str(),
            outcome.error(),
            outcome.delivered_at().map(secs),
            outcome.retry_at().map(secs)
        ])?;
    Ok(changed == 1)
}

fn sort_column(s: DeliverySort) -> &'static str {
    match s {
        DeliverySort::Id => "d.id",
        DeliverySort::NextAttemptAt => "d.next_attempt_at",
    }
}

pub(crate) fn list(
    conn: &Connection,
    q: &ListQuery<DeliverySort, DeliveryFilter>,
) -> Res<Page<Delivery>> {
    let mut w = Where::default();
    if let Some(state) = q.filter.state {
        w.bind("d.state = ?", state.as_str().to_owned());
    }
    if let Some(notice) = q.filter.notice {
        w.bind("d.notice_id = ?", notice.get());
    }
    let spec = PageSpec {
        columns: COLUMNS,
        from: FROM,
        filter: &w,
        order: order_by(
            q.sort.map(|(s, o)| (sort_column(s), o)),
            "d.id",
            "d.id DESC",
        ),
    };
    let (items, total) = fetch_page(conn, &spec, q, row)?;
    Ok(Page { items, total })
}
