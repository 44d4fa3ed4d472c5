//! The core's conformance suite, one test per case, each on a fresh file database.

use cachet_store_sqlite::SqliteStore;
use tempfile::TempDir;

/// A store on a file in a temporary folder. SQLite refuses to write to a database file that
/// was unlinked, so the folder is the case's guard: it is removed after the case is over.
async fn fresh_store() -> Option<(SqliteStore, TempDir)> {
    let (dir, store) = crate::support::fresh().await;
    Some((store, dir))
}

async fn remove_folder(dir: TempDir) {
    drop(dir);
}

cachet_core::conformance_tests!(fresh_store, teardown = remove_folder);
