-- Component status history, and what maintenance windows hold.
--
-- (Numbered 0004: 0003 is the sessions migration. `MIGRATIONS` in src/migrate.rs must list
-- 0003 before this file, since `user_version` counts the list.)

-- One row per change of a component's status, written in the transaction that changes it.
-- `source` is a `StatusSource` (0 dashboard, 1 API, 2 incident, 3 maintenance, 4 system).
-- Components are only soft-deleted; their history is deleted with them.
CREATE TABLE component_status_changes (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    component_id INTEGER NOT NULL REFERENCES components (id),
    at           INTEGER NOT NULL,
    old_status   INTEGER NOT NULL,
    new_status   INTEGER NOT NULL,
    source       INTEGER NOT NULL
);
CREATE INDEX component_status_changes_component ON component_status_changes (component_id, id);

-- A component held by a maintenance window in progress (see `cachet_core::maintenance`):
-- the status it gets back when its last window ends, and the status maintenance left it in.
CREATE TABLE maintenance_holds (
    schedule_id    INTEGER NOT NULL REFERENCES schedules (id),
    component_id   INTEGER NOT NULL REFERENCES components (id),
    restore_status INTEGER NOT NULL,
    applied_status INTEGER NOT NULL,
    PRIMARY KEY (schedule_id, component_id)
) WITHOUT ROWID;
CREATE INDEX maintenance_holds_component ON maintenance_holds (component_id);
