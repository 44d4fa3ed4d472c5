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
                    return StoreError::InvalidReference("a referenced row does not exist".to_owned());
                }
                _ => {}
            },
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => return StoreError::Unavailable(Box::new(e)),
            _ => {}
        }
    }
    StoreError::Backend(Box::new(e))
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
