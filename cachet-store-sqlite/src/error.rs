//! Driver errors classified by SQLite's result codes (never by message text).

use std::fmt;

use cachet_core::error::Entity;
use cachet_core::StoreError;
use rusqlite::ffi;
use rusqlite::ErrorCode;

/// The error of the synchronous inside of a store call: a driver error still to classify,
/// or an error of meaning already decided (not found, conflict...).
#[derive(Debug)]
pub(crate) enum Fail {
    Db(rusqlite::Error),
    Store(StoreError),
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Fail::Db(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

impl Fail {
    pub(crate) fn into_store(self) -> StoreError {
        match self {
            Fail::Db(e) => classify(e),
            Fail::Store(e) => e,
        }
    }
}

/// Result of the synchronous inside of a store call.
pub(crate) type Res<T> = Result<T, Fail>;

/// `Err(NotFound(entity))`, for `?`.
pub(crate) fn not_found<T>(entity: Entity) -> Res<T> {
    Err(Fail::Store(StoreError::NotFound(entity)))
}

/// Classifies a driver error by its (extended) result code.
pub(crate) fn classify(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(failure, _) = &e {
        match failure.code {
            ErrorCode::ConstraintViolation => match failure.extended_code {
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    return StoreError::Conflict("a unique value is already taken".to_owned());
                }
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
                    return StoreError::InvalidReference(
                        "a referenced row does not exist".to_owned(),
                    );
                }
                _ => {}
            },
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                return StoreError::Unavailable(Box::new(e))
            }
            _ => {}
        }
    }
    StoreError::Backend(Box::new(e))
}

/// True for a violated UNIQUE or PRIMARY KEY constraint.
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.code == ErrorCode::ConstraintViolation
            && matches!(f.extended_code, ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY))
}

/// Replaces the generic message of a `Conflict` with one that names what is taken.
pub(crate) fn conflict_means(what: &'static str) -> impl Fn(StoreError) -> StoreError {
    move |e| match e {
        StoreError::Conflict(_) => StoreError::Conflict(what.to_owned()),
        other => other,
    }
}

/// A value read back that this crate could not have written (a corrupt or foreign database).
#[derive(Debug)]
pub(crate) struct Corrupt(pub(crate) &'static str);

impl fmt::Display for Corrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unexpected stored value: {}", self.0)
    }
}

impl std::error::Error for Corrupt {}

impl From<Corrupt> for Fail {
    fn from(e: Corrupt) -> Self {
        Fail::Store(StoreError::Backend(Box::new(e)))
    }
}

impl From<serde_json::Error> for Fail {
    fn from(e: serde_json::Error) -> Self {
        Fail::Store(StoreError::Backend(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rusqlite::Connection;

    use super::*;

    fn db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE parent (id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE);
             CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent (id));
             CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;
             INSERT INTO parent (id, slug) VALUES (1, 'a');
             INSERT INTO kv (k, v) VALUES ('k', 'v');",
        )
        .unwrap();
        conn
    }

    fn fail(conn: &Connection, sql: &str) -> StoreError {
        classify(conn.execute(sql, []).unwrap_err())
    }

    #[test]
    fn constraint_violations_are_classified_by_code() {
        let conn = db();
        assert!(matches!(
            fail(&conn, "INSERT INTO parent (id, slug) VALUES (2, 'a')"),
            StoreError::Conflict(_)
        ));
        assert!(matches!(
            fail(&conn, "INSERT INTO parent (id, slug) VALUES (1, 'b')"),
            StoreError::Conflict(_)
        ));
        assert!(matches!(
            fail(&conn, "INSERT INTO kv (k, v) VALUES ('k', 'w')"),
            StoreError::Conflict(_)
        ));
        assert!(matches!(
            fail(&conn, "INSERT INTO child (parent_id) VALUES (9)"),
            StoreError::InvalidReference(_)
        ));
        // NOT NULL is a constraint too, but neither a conflict nor a reference: kept as Backend.
        assert!(matches!(
            fail(&conn, "INSERT INTO child (parent_id) VALUES (NULL)"),
            StoreError::Backend(_)
        ));
        assert!(matches!(
            fail(&conn, "INSERT INTO nowhere VALUES (1)"),
            StoreError::Backend(_)
        ));
        let unique = conn
            .execute("INSERT INTO parent (id, slug) VALUES (2, 'a')", [])
            .unwrap_err();
        assert!(is_unique_violation(&unique));
    }

    #[test]
    fn backend_errors_keep_their_source() {
        let conn = db();
        let err = fail(&conn, "SELEC 1");
        let StoreError::Backend(source) = err else {
            panic!("expected Backend")
        };
        assert!(source.downcast_ref::<rusqlite::Error>().is_some());
    }

    #[test]
    fn a_locked_database_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("busy.db");
        let mut a = Connection::open(&path).unwrap();
        let b = Connection::open(&path).unwrap();
        b.busy_timeout(Duration::ZERO).unwrap();
        a.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        let tx = a
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        tx.execute("INSERT INTO t (x) VALUES (1)", []).unwrap();
        let err = classify(b.execute_batch("BEGIN IMMEDIATE").unwrap_err());
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        tx.rollback().unwrap();
    }

    #[test]
    fn conflict_messages_name_what_is_taken() {
        let e = conflict_means("slug is taken")(StoreError::Conflict("x".into()));
        assert!(matches!(e, StoreError::Conflict(m) if m == "slug is taken"));
        assert!(matches!(
            conflict_means("x")(StoreError::NotFound(Entity::User)),
            StoreError::NotFound(Entity::User)
        ));
    }
}
