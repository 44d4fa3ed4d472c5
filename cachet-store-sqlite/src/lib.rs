#![doc = include_str!("../README.md")]

pub use rusqlite;

mod components;
mod conv;
mod error;
mod history;
mod incidents;
mod metrics;
mod migrate;
mod misc;
mod outbox;
mod query;
mod schedules;
mod sessions;
mod store;
mod subscribers;
mod users;
mod webhooks;

use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Duration;

use cachet_core::StoreError;
use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::error::{classify, Fail};

/// How long a statement waits for a lock held by another connection before failing with
/// [`StoreError::Unavailable`].
pub const BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

/// Reader connections opened beside the writer for a file database in WAL mode.
const READERS: usize = 2;

/// Statements kept prepared per connection.
const STATEMENT_CACHE: usize = 64;

/// A [`cachet_core::Store`] on one SQLite database.
///
/// Cloning is cheap and shares the connections. Every call runs on Tokio's blocking pool
/// (`spawn_blocking`), never on an async worker thread, so the store must be used inside a
/// Tokio runtime; outside one, calls fail with [`StoreError::Unavailable`].
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// The only connection that writes; every write is one `BEGIN IMMEDIATE` transaction.
    writer: Mutex<Connection>,
    /// Read-only connections (file databases in WAL mode only); reads use the writer when empty.
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    location: String,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("location", &self.inner.location)
            .field("readers", &self.inner.readers.len())
            .finish_non_exhaustive()
    }
}

/// Creates a missing database file with mode 0600 (SQLite itself would create it 0644
/// less the umask: readable by every local user). Names SQLite treats specially (`""`,
/// `:memory:`, `file:` URIs) are left to it.
fn create_private(path: &Path) {
    let special = path
        .to_str()
        .is_some_and(|p| p.is_empty() || p == ":memory:" || p.starts_with("file:"));
    if special {
        return;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    // An existing file is kept as it is. Any other failure (a missing directory, one that
    // may not be written) is left for SQLite's own open to report with its error.
    let _ = options.open(path);
}

impl SqliteStore {
    /// Opens (creating it when missing) the database file at `path`, in WAL mode with
    /// foreign keys on, `synchronous=NORMAL` and a busy timeout of [`BUSY_TIMEOUT`].
    ///
    /// A missing file is created readable and writable by its owner only (mode 0600 on
    /// Unix, whatever the umask allows beyond it); SQLite gives the `-wal` and `-shm` files
    /// the database file's mode. An existing file keeps the mode it has.
    ///
    /// This does not create the tables: call [`SqliteStore::migrate`] next, or use
    /// [`SqliteStore::open_and_migrate`]. Opening touches the file system and blocks briefly.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        create_private(path);
        let writer = Connection::open(path).map_err(classify)?;
        configure(&writer)?;
        let journal: String = writer
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(classify)?;
        writer
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(classify)?;
        // Separate readers only see the writer's data when both share one WAL file; for
        // anything else (`:memory:`, a file system without WAL) the writer serves reads too.
        let mut readers = Vec::new();
        if journal.eq_ignore_ascii_case("wal") {
            for _ in 0..READERS {
                let reader = Connection::open(path).map_err(classify)?;
                configure(&reader)?;
                reader
                    .pragma_update(None, "query_only", true)
                    .map_err(classify)?;
                readers.push(Mutex::new(reader));
            }
        }
        Ok(Self::from_parts(
            writer,
            readers,
            path.display().to_string(),
        ))
    }

    /// Opens a private in-memory database (one connection), for tests and demos.
    ///
    /// Each call opens a new, empty database; call [`SqliteStore::migrate`] next.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory().map_err(classify)?;
        configure(&conn)?;
        Ok(Self::from_parts(conn, Vec::new(), ":memory:".to_owned()))
    }

    /// Opens the database file at `path` (see [`SqliteStore::open`]) and runs the migrations.
    pub async fn open_and_migrate(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_owned();
        let store = spawn_blocking(move || Self::open(path)).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Brings the schema up to date with the migrations embedded in this crate.
    ///
    /// Idempotent: migrations already applied (tracked in `PRAGMA user_version`) are skipped,
    /// so running it twice, or from two processes, is safe. Fails when the database was
    /// migrated by a newer version of this crate.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let inner = Arc::clone(&self.inner);
        spawn_blocking(move || {
            let mut conn = lock(&inner.writer);
            migrate::run(&mut conn)
        })
        .await
    }

    /// The schema version this crate's migrations bring a database to.
    pub fn schema_version() -> i64 {
        migrate::latest()
    }

    fn from_parts(writer: Connection, readers: Vec<Mutex<Connection>>, location: String) -> Self {
        SqliteStore {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                readers,
                next_reader: AtomicUsize::new(0),
                location,
            }),
        }
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction on the writer, on the blocking pool;
    /// commits when it returns `Ok`, rolls back otherwise.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, Fail> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        spawn_blocking(move || {
            let mut conn = lock(&inner.writer);
            in_transaction(&mut conn, TransactionBehavior::Immediate, f)
        })
        .await
    }

    /// Runs `f` in one read transaction (a consistent snapshot) on a reader, on the blocking pool.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, Fail> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        spawn_blocking(move || {
            let mut conn = inner.reader();
            in_transaction(&mut conn, TransactionBehavior::Deferred, f)
        })
        .await
    }
}

impl Inner {
    fn reader(&self) -> MutexGuard<'_, Connection> {
        if self.readers.is_empty() {
            return lock(&self.writer);
        }
        for reader in &self.readers {
            match reader.try_lock() {
                Ok(guard) => return guard,
                Err(TryLockError::Poisoned(p)) => return p.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        let turn = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let i = turn.checked_rem(self.readers.len()).unwrap_or(0);
        self.readers.get(i).map_or_else(|| lock(&self.writer), lock)
    }
}

fn in_transaction<T>(
    conn: &mut Connection,
    behavior: TransactionBehavior,
    f: impl FnOnce(&Transaction<'_>) -> Result<T, Fail>,
) -> Result<T, StoreError> {
    let tx = conn.transaction_with_behavior(behavior).map_err(classify)?;
    // On `Err` the transaction is dropped, which rolls it back.
    let out = f(&tx).map_err(Fail::into_store)?;
    tx.commit().map_err(classify)?;
    Ok(out)
}

/// Locks a connection; a poisoned lock is taken over, since a panic unwinding through a
/// transaction has already rolled it back.
fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT).map_err(classify)?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(classify)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

/// Runs blocking work on Tokio's blocking pool.
async fn spawn_blocking<T, F>(f: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
{
    let handle =
        tokio::runtime::Handle::try_current().map_err(|e| StoreError::Unavailable(Box::new(e)))?;
    match handle.spawn_blocking(f).await {
        Ok(out) => out,
        Err(e) if e.is_cancelled() => Err(StoreError::Unavailable(Box::new(e))),
        Err(e) => Err(StoreError::Backend(Box::new(e))),
    }
}
