//! Dashboard sessions, by digest.

use cachet_core::error::Entity;
use cachet_core::ids::UserId;
use cachet_core::secret::TokenHash;
use cachet_core::store::{NewSession, Session};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::conv::{secs, secs_ceil, Hash, Ts};
use crate::error::{not_found, Res};

const COLUMNS: &str = "hash, user_id, pending, created_at, last_seen_at";

fn row(r: &Row<'_>) -> rusqlite::Result<Session> {
    Ok(Session {
        hash: r.get::<_, Hash>("hash")?.0,
        user_id: UserId(r.get("user_id")?),
        pending: r.get("pending")?,
        created_at: r.get::<_, Ts>("created_at")?.0,
        last_seen_at: r.get::<_, Ts>("last_seen_at")?.0,
    })
}

pub(crate) fn get(conn: &Connection, hash: &TokenHash) -> Res<Session> {
    let sql = format!("SELECT {COLUMNS} FROM sessions WHERE hash = ?1");
    match conn
        .prepare_cached(&sql)?
        .query_row([hash.to_hex()], row)
        .optional()?
    {
        Some(s) => Ok(s),
        None => not_found(Entity::Session),
    }
}

pub(crate) fn create(conn: &Connection, new: &NewSession) -> Res<Session> {
    crate::users::get(conn, new.user_id)?;
    conn.prepare_cached(
        "INSERT INTO sessions (hash, user_id, pending, created_at, last_seen_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        new.hash.to_hex(),
        new.user_id.get(),
        new.pending,
        secs(new.created_at),
        secs(new.last_seen_at)
    ])?;
    get(conn, &new.hash)
}

pub(crate) fn touch(conn: &Connection, hash: &TokenHash, at: DateTime<Utc>) -> Res<()> {
    conn.prepare_cached(
        "UPDATE sessions SET last_seen_at = ?2 WHERE hash = ?1 AND last_seen_at < ?2",
    )?
    .execute(params![hash.to_hex(), secs(at)])?;
    Ok(())
}

pub(crate) fn replace(
    conn: &Connection,
    old: &TokenHash,
    new: &NewSession,
) -> Res<Option<Session>> {
    if !delete(conn, old)? {
        return Ok(None);
    }
    // The caller's transaction rolls the delete back when this fails.
    create(conn, new).map(Some)
}

pub(crate) fn delete(conn: &Connection, hash: &TokenHash) -> Res<bool> {
    let n = conn
        .prepare_cached("DELETE FROM sessions WHERE hash = ?1")?
        .execute([hash.to_hex()])?;
    Ok(n > 0)
}

pub(crate) fn delete_for_user(
    conn: &Connection,
    user: UserId,
    keep: Option<&TokenHash>,
) -> Res<u64> {
    let n = conn
        .prepare_cached("DELETE FROM sessions WHERE user_id = ?1 AND (?2 IS NULL OR hash <> ?2)")?
        .execute(params![user.get(), keep.map(TokenHash::to_hex)])?;
    Ok(u64::try_from(n).unwrap_or(u64::MAX))
}

pub(crate) fn purge(
    conn: &Connection,
    created_before: DateTime<Utc>,
    seen_before: DateTime<Utc>,
) -> Res<u64> {
    let n = conn
        .prepare_cached("DELETE FROM sessions WHERE created_at < ?1 OR last_seen_at < ?2")?
        .execute([secs_ceil(created_before), secs_ceil(seen_before)])?;
    Ok(u64::try_from(n).unwrap_or(u64::MAX))
}
