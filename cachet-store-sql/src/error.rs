//! Driver errors classified by kind, never by message text.

use std::fmt;

use cachet_core::error::Entity;
use cachet_core::StoreError;
use sqlx::error::ErrorKind;

/// A failure inside one store operation: a driver error (classified at the edge) or a
/// store-level answer such as "not found".
#[derive(Debug)]
pub(crate) enum Fail {
    Db(sqlx::Error),
    Store(StoreError),
    /// Lost a race the transaction cannot recover from inside itself: run it again.
    Again,
}

impl From<sqlx::Error> for Fail {
    fn from(e: sqlx::Error) -> Self {
        Fail::Db(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

impl From<serde_json::Error> for Fail {
    fn from(e: serde_json::Error) -> Self {
        Fail::Store(StoreError::Backend(Box::new(e)))
    }
}

impl From<Corrupt> for Fail {
    fn from(e: Corrupt) -> Self {
        Fail::Store(StoreError::Backend(Box::new(e)))
    }
}

impl Fail {
    /// The store error this failure means.
    pub(crate) fn into_store(self) -> StoreError {
        match self {
            Fail::Db(e) => classify(e),
            Fail::Store(e) => e,
            Fail::Again => {
                StoreError::Conflict("another write kept changing the same rows".to_owned())
            }
        }
    }

    /// A deadlock or serialization failure: the whole transaction may simply be run again.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            Fail::Db(e) => is_transient(e),
            Fail::Again => true,
            Fail::Store(_) => false,
        }
    }

    /// A unique-key violation.
    pub(crate) fn is_unique_violation(&self) -> bool {
        matches!(self, Fail::Db(sqlx::Error::Database(e)) if e.kind() == ErrorKind::UniqueViolation)
    }
}

pub(crate) type Res<T> = Result<T, Fail>;

/// `Err(NotFound(entity))`.
pub(crate) fn not_found<T>(entity: Entity) -> Res<T> {
    Err(Fail::Store(StoreError::NotFound(entity)))
}

/// SQLSTATE of a deadlock or a serialization failure (PostgreSQL `40001`, `40P01`; MySQL
/// and MariaDB report deadlocks as `40001` too).
fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            let state = db.code();
            let state = state.as_deref().unwrap_or("");
            state == "40001" || state == "40P01" || mysql_lock_timeout(db.as_ref())
        }
        _ => false,
    }
}

/// MySQL's lock wait timeout (error 1205) has the generic SQLSTATE `HY000`; its number says
/// what it is.
#[cfg(feature = "mysql")]
fn mysql_lock_timeout(db: &dyn sqlx::error::DatabaseError) -> bool {
    db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
        .is_some_and(|e| e.number() == 1205)
}

#[cfg(not(feature = "mysql"))]
fn mysql_lock_timeout(_db: &dyn sqlx::error::DatabaseError) -> bool {
    false
}

/// The server ended the session or cannot take it: SQLSTATE class `08` (connection
/// exceptions) and PostgreSQL's `57P01`-`57P03` (shutdown, crash, cannot connect now).
/// MySQL reports a killed connection as an I/O error, which is classified as such.
fn server_going_away(db: &dyn sqlx::error::DatabaseError) -> bool {
    let code = db.code();
    let state = code.as_deref().unwrap_or("");
    state.starts_with("08") || matches!(state, "57P01" | "57P02" | "57P03")
}

/// Maps a driver error to its meaning; the driver error stays the source where the
/// meaning carries one.
pub(crate) fn classify(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) => match db.kind() {
            ErrorKind::UniqueViolation => {
                StoreError::Conflict("a unique value is already taken".to_owned())
            }
            ErrorKind::ForeignKeyViolation => {
                StoreError::InvalidReference("a referenced row does not exist".to_owned())
            }
            _ if is_transient(&e) || server_going_away(db.as_ref()) => {
                StoreError::Unavailable(Box::new(e))
            }
            _ => StoreError::Backend(Box::new(e)),
        },
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(Box::new(e)),
        _ => StoreError::Backend(Box::new(e)),
    }
}

/// Replaces the generic conflict text with what is taken.
pub(crate) fn conflict_means(what: &'static str) -> impl Fn(StoreError) -> StoreError {
    move |e| match e {
        StoreError::Conflict(_) => StoreError::Conflict(what.to_owned()),
        other => other,
    }
}

/// A stored value this crate never writes (an unknown enum number, a bad digest).
#[derive(Debug)]
pub(crate) struct Corrupt(pub(crate) String);

impl fmt::Display for Corrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unexpected stored value: {}", self.0)
    }
}

impl std::error::Error for Corrupt {}
