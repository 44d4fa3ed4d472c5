//! Users and API tokens.

use cachet_core::enums::Role;
use cachet_core::error::Entity;
use cachet_core::ids::{TokenId, UserId};
use cachet_core::model::{ApiToken, TotpState, User};
use cachet_core::policy::Abilities;
use cachet_core::secret::{PasswordHash, TokenHash};
use cachet_core::store::{now, ListQuery, NewApiToken, NewUser, Page, UserChanges, UserSort};
use cachet_core::validate::Email;
use cachet_core::StoreError;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::conv::{opt_ts, secs, En, Hash, Ts};
use crate::error::{not_found, Fail, Res};
use crate::query::{fetch_page, order_by, PageSpec, Set, Where};

const COLUMNS: &str = "u.id, u.username, u.email, u.password_hash, u.role, u.active, \
     u.totp_secret, u.totp_enabled_at, u.totp_last_step, u.created_at, u.updated_at";

fn row(r: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: UserId(r.get("id")?),
        username: r.get("username")?,
        email: Email::from_stored(r.get("email")?),
        password_hash: PasswordHash::from_phc(r.get("password_hash")?),
        role: r.get::<_, En<_>>("role")?.0,
        active: r.get("active")?,
        totp: TotpState {
            sealed_secret: r.get("totp_secret")?,
            enabled_at: opt_ts(r.get("totp_enabled_at")?),
            last_step: r.get("totp_last_step")?,
        },
        created_at: r.get::<_, Ts>("created_at")?.0,
        updated_at: r.get::<_, Ts>("updated_at")?.0,
    })
}

fn sort_column(s: UserSort) -> &'static str {
    match s {
        UserSort::Id => "u.id",
        UserSort::Username => "u.username",
    }
}

fn conflict(what: &str) -> Fail {
    Fail::Store(StoreError::Conflict(what.to_owned()))
}

/// True when another user than `except` has `column = value`.
fn taken(
    conn: &Connection,
    column_is: &'static str,
    value: &str,
    except: Option<UserId>,
) -> Res<bool> {
    let sql = format!("SELECT 1 FROM users WHERE {column_is} AND id IS NOT ?2");
    let found = conn
        .prepare_cached(&sql)?
        .query_row(params![value, except.map(UserId::get)], |_| Ok(()))
        .optional()?;
    Ok(found.is_some())
}

fn insert_user(conn: &Connection, new: &NewUser) -> Res<UserId> {
    // Checked first to name the field; the UNIQUE constraints stay the last word.
    if taken(conn, "username = ?1", &new.username, None)? {
        return Err(conflict("username is taken"));
    }
    if taken(conn, "email = ?1", new.email.as_str(), None)? {
        return Err(conflict("email is taken"));
    }
    let at = secs(now());
    conn.prepare_cached(
        "INSERT INTO users (username, email, password_hash, role, active, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)",
    )?
    .execute(params![
        new.username,
        new.email.as_str(),
        new.password_hash.as_phc(),
        new.role.as_i64(),
        at
    ])?;
    Ok(UserId(conn.last_insert_rowid()))
}

pub(crate) fn get(conn: &Connection, id: UserId) -> Res<User> {
    let sql = format!("SELECT {COLUMNS} FROM users u WHERE u.id = ?1");
    match conn
        .prepare_cached(&sql)?
        .query_row([id.get()], row)
        .optional()?
    {
        Some(u) => Ok(u),
        None => not_found(Entity::User),
    }
}

pub(crate) fn create(conn: &Connection, new: NewUser) -> Res<User> {
    let id = insert_user(conn, &new)?;
    get(conn, id)
}

/// Runs inside one `BEGIN IMMEDIATE` transaction, so the emptiness check and the inserts
/// cannot be separated by another writer.
pub(crate) fn bootstrap_admin(
    conn: &Connection,
    user: NewUser,
    token: NewApiToken,
) -> Res<Option<(User, ApiToken)>> {
    let any: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE role = ?1)")?
        .query_row([Role::Admin.as_i64()], |r| r.get(0))?;
    if any {
        return Ok(None);
    }
    let id = insert_user(conn, &user)?;
    let token = insert_token(conn, id, &token)?;
    Ok(Some((get(conn, id)?, token)))
}

pub(crate) fn find(conn: &Connection, login: &str) -> Res<User> {
    // A username match wins over an email match of another user.
    let sql = format!(
        "SELECT {COLUMNS} FROM users u WHERE u.username = ?1 OR u.email = ?1 \
         ORDER BY (u.username = ?1) DESC, u.id LIMIT 1"
    );
    match conn
        .prepare_cached(&sql)?
        .query_row([login], row)
        .optional()?
    {
        Some(u) => Ok(u),
        None => not_found(Entity::User),
    }
}

pub(crate) fn list(conn: &Connection, q: &ListQuery<UserSort, ()>) -> Res<Page<User>> {
    let w = Where::default();
    let spec = PageSpec {
        columns: COLUMNS,
        from: "users u",
        filter: &w,
        order: order_by(q.sort.map(|(s, o)| (sort_column(s), o)), "u.id", "u.id ASC"),
    };
    let (items, total) = fetch_page(conn, &spec, q, row)?;
    Ok(Page { items, total })
}

pub(crate) fn update(conn: &Connection, id: UserId, changes: UserChanges) -> Res<User> {
    get(conn, id)?;
    if let Some(email) = &changes.email {
        if taken(conn, "email = ?1", email.as_str(), Some(id))? {
            return Err(conflict("email is taken"));
        }
    }
    let mut set = Set::default();
    set.set_some("email", changes.email.map(|e| e.as_str().to_owned()));
    set.set_some(
        "password_hash",
        changes.password_hash.map(|p| p.as_phc().to_owned()),
    );
    set.set_some("role", changes.role.map(i64::from));
    set.set_some("active", changes.active);
    set.set("updated_at", secs(now()));
    set.execute(conn, "users", id.get())?;
    get(conn, id)
}

// ---- tokens

const TOKEN_COLUMNS: &str =
    "t.id, t.user_id, t.name, t.prefix, t.hash, t.abilities, t.expires_at, \
     t.created_at, t.last_used_at, t.revoked_at";

fn token_row(r: &Row<'_>) -> rusqlite::Result<ApiToken> {
    Ok(ApiToken {
        id: TokenId(r.get("id")?),
        user_id: UserId(r.get("user_id")?),
        name: r.get("name")?,
        prefix: r.get("prefix")?,
        hash: r.get::<_, Hash>("hash")?.0,
        abilities: abilities(r.get("abilities")?)?,
        expires_at: opt_ts(r.get("expires_at")?),
        created_at: r.get::<_, Ts>("created_at")?.0,
        last_used_at: opt_ts(r.get("last_used_at")?),
        revoked_at: opt_ts(r.get("revoked_at")?),
    })
}

fn abilities(stored: Option<String>) -> rusqlite::Result<Option<Abilities>> {
    stored
        .map(|text| {
            Abilities::parse(&text).map_err(|unknown| {
                rusqlite::Error::FromSqlConversionFailure(
                    0,
                    rusqlite::types::Type::Text,
                    format!("unknown ability {unknown:?}").into(),
                )
            })
        })
        .transpose()
}

fn get_token(conn: &Connection, id: TokenId) -> Res<ApiToken> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens t WHERE t.id = ?1");
    match conn
        .prepare_cached(&sql)?
        .query_row([id.get()], token_row)
        .optional()?
    {
        Some(t) => Ok(t),
        None => not_found(Entity::Token),
    }
}

fn insert_token(conn: &Connection, user: UserId, new: &NewApiToken) -> Res<ApiToken> {
    conn.prepare_cached(
        "INSERT INTO api_tokens (user_id, name, prefix, hash, abilities, expires_at, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        user.get(),
        new.name,
        new.prefix,
        new.hash.to_hex(),
        new.abilities.map(|a| a.to_string()),
        new.expires_at.map(secs),
        secs(now())
    ])?;
    get_token(conn, TokenId(conn.last_insert_rowid()))
}

pub(crate) fn create_token(conn: &Connection, new: NewApiToken) -> Res<ApiToken> {
    get(conn, new.user_id)?;
    insert_token(conn, new.user_id, &new)
}

pub(crate) fn find_token(conn: &Connection, hash: &TokenHash) -> Res<(ApiToken, User)> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens t WHERE t.hash = ?1");
    let Some(token) = conn
        .prepare_cached(&sql)?
        .query_row([hash.to_hex()], token_row)
        .optional()?
    else {
        return not_found(Entity::Token);
    };
    let user = get(conn, token.user_id)?;
    Ok((token, user))
}

pub(crate) fn list_tokens(conn: &Connection, user: Option<UserId>) -> Res<Vec<ApiToken>> {
    let sql = format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens t WHERE ?1 IS NULL OR t.user_id = ?1 ORDER BY t.id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let tokens = stmt
        .query_map([user.map(UserId::get)], token_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(tokens)
}

pub(crate) fn revoke_token(conn: &Connection, id: TokenId) -> Res<ApiToken> {
    let changed = conn
        .prepare_cached(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
        )?
        .execute([id.get(), secs(now())])?;
    if changed == 0 {
        return not_found(Entity::Token);
    }
    get_token(conn, id)
}

pub(crate) fn touch_token(conn: &Connection, id: TokenId, at: DateTime<Utc>) -> Res<()> {
    let changed = conn
        .prepare_cached("UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1")?
        .execute([id.get(), secs(at)])?;
    if changed == 0 {
        return not_found(Entity::Token);
    }
    Ok(())
}

// ---- two-factor authentication

pub(crate) fn begin_totp(conn: &Connection, id: UserId, sealed: String) -> Res<User> {
    let user = get(conn, id)?;
    if user.has_2fa() {
        return Err(conflict("two-factor authentication is already on"));
    }
    conn.prepare_cached(
        "UPDATE users SET totp_secret = ?2, totp_enabled_at = NULL, totp_last_step = NULL, \
         updated_at = ?3 WHERE id = ?1",
    )?
    .execute(params![id.get(), sealed, secs(now())])?;
    get(conn, id)
}

pub(crate) fn enable_totp(
    conn: &Connection,
    id: UserId,
    sealed: String,
    step: i64,
    recovery: Vec<TokenHash>,
) -> Res<User> {
    get(conn, id)?;
    let at = secs(now());
    let changed = conn
        .prepare_cached(
            "UPDATE users SET totp_enabled_at = ?3, totp_last_step = ?4, updated_at = ?3 \
             WHERE id = ?1 AND totp_secret = ?2 AND totp_enabled_at IS NULL",
        )?
        .execute(params![id.get(), sealed, at, step])?;
    if changed == 0 {
        return Err(conflict("two-factor enrollment changed meanwhile"));
    }
    replace_recovery_codes(conn, id, &recovery)?;
    get(conn, id)
}

fn replace_recovery_codes(conn: &Connection, id: UserId, codes: &[TokenHash]) -> Res<()> {
    conn.prepare_cached("DELETE FROM recovery_codes WHERE user_id = ?1")?
        .execute([id.get()])?;
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO recovery_codes (user_id, code_hash) VALUES (?1, ?2)",
    )?;
    for code in codes {
        insert.execute(params![id.get(), code.to_hex()])?;
    }
    Ok(())
}

pub(crate) fn disable_totp(conn: &Connection, id: UserId) -> Res<User> {
    get(conn, id)?;
    conn.prepare_cached(
        "UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL, \
         updated_at = ?2 WHERE id = ?1",
    )?
    .execute(params![id.get(), secs(now())])?;
    replace_recovery_codes(conn, id, &[])?;
    get(conn, id)
}

pub(crate) fn claim_totp_step(conn: &Connection, id: UserId, step: i64) -> Res<bool> {
    get(conn, id)?;
    let changed = conn
        .prepare_cached(
            "UPDATE users SET totp_last_step = ?2 WHERE id = ?1 AND totp_enabled_at IS NOT NULL \
             AND (totp_last_step IS NULL OR totp_last_step < ?2)",
        )?
        .execute(params![id.get(), step])?;
    Ok(changed == 1)
}

pub(crate) fn use_recovery_code(
    conn: &Connection,
    id: UserId,
    code: &TokenHash,
    at: DateTime<Utc>,
) -> Res<bool> {
    let changed = conn
        .prepare_cached(
            "UPDATE recovery_codes SET used_at = ?3 \
             WHERE user_id = ?1 AND code_hash = ?2 AND used_at IS NULL",
        )?
        .execute(params![id.get(), code.to_hex(), secs(at)])?;
    Ok(changed == 1)
}

pub(crate) fn recovery_codes_left(conn: &Connection, id: UserId) -> Res<u32> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL",
        )?
        .query_row([id.get()], |r| r.get(0))?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}
