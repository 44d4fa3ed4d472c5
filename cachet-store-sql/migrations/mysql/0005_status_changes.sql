-- Component status history, and what maintenance windows hold.
-- (Numbered 0005: 0004 is the sessions migration.) Integers only, so no text column here
-- needs the binary string types of 0002.

-- One row per change of a component's status, written in the transaction that changes it.
-- `source` is a `StatusSource` (0 dashboard, 1 API, 2 incident, 3 maintenance, 4 system).
-- Components are only soft-deleted; their history is deleted with them. (MySQL ignores
-- REFERENCES on a column: foreign keys are table constraints here.)
CREATE TABLE component_status_changes (
    id           BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    component_id BIGINT NOT NULL,
    at           BIGINT NOT NULL,
    old_status   BIGINT NOT NULL,
    new_status   BIGINT NOT NULL,
    source       BIGINT NOT NULL,
    KEY component_status_changes_component (component_id, id),
    FOREIGN KEY (component_id) REFERENCES components (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- A component held by a maintenance window in progress (see `cachet_core::maintenance`):
-- the status it gets back when its last window ends, and the status maintenance left it in.
CREATE TABLE maintenance_holds (
    schedule_id    BIGINT NOT NULL,
    component_id   BIGINT NOT NULL,
    restore_status BIGINT NOT NULL,
    applied_status BIGINT NOT NULL,
    PRIMARY KEY (schedule_id, component_id),
    KEY maintenance_holds_component (component_id),
    FOREIGN KEY (schedule_id) REFERENCES schedules (id),
    FOREIGN KEY (component_id) REFERENCES components (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Runs of the maintenance reconciliation take turns on this row.
INSERT INTO store_locks (name) VALUES ('maintenance');
