//! Embedded migrations, tracked in `PRAGMA user_version` (migration `n` of the list brings
//! the database to version `n + 1`).

use std::fmt;

use cachet_core::StoreError;
use rusqlite::{Connection, TransactionBehavior};

use crate::error::classify;

/// The migrations, in order. Append only: never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_security.sql"),
    include_str!("../migrations/0003_sessions.sql"),
    include_str!("../migrations/0004_status_changes.sql"),
    include_str!("../migrations/0005_outbox.sql"),
    include_str!("../migrations/0006_webhooks.sql"),
    include_str!("../migrations/0007_schedule_announced.sql"),
];

/// The version the migrations bring a database to.
pub(crate) fn latest() -> i64 {
    // The list is a short constant; its length fits in an i64.
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

/// The database was migrated by a newer version of this crate.
#[derive(Debug)]
pub(crate) struct TooNew {
    found: i64,
    known: i64,
}

impl fmt::Display for TooNew {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "database schema version {} is newer than this build's {}",
            self.found, self.known
        )
    }
}

impl std::error::Error for TooNew {}

/// Applies every migration not yet applied, each with its version bump, in one
/// `BEGIN IMMEDIATE` transaction (so two processes migrating at once do not collide).
pub(crate) fn run(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(classify)?;
    let current: i64 = tx
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(classify)?;
    let known = latest();
    if current > known {
        return Err(StoreError::Backend(Box::new(TooNew {
            found: current,
            known,
        })));
    }
    for (version, sql) in (1..).zip(MIGRATIONS.iter()) {
        if version <= current {
            continue;
        }
        tx.execute_batch(sql).map_err(classify)?;
        tx.pragma_update(None, "user_version", version)
            .map_err(classify)?;
    }
    tx.commit().map_err(classify)
}
