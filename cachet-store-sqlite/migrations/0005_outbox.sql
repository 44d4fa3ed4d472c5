-- The notification outbox (see `cachet_core::notify`): a notice per event that notifies
-- someone, and a delivery per recipient, both written in the transaction of the change.
--
-- (`MIGRATIONS` in src/migrate.rs lists this file fifth; `user_version` counts the list.)

CREATE TABLE notices (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    event      TEXT    NOT NULL,
    entity_id  INTEGER,
    subject    TEXT    NOT NULL,
    text_body  TEXT    NOT NULL,
    html_body  TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

-- `state`: pending, delivered, failed or dropped. A pending row is due at `next_attempt_at`
-- and free to claim when `lease_until` is NULL or past. Exactly one of `subscriber_id` and
-- `webhook_id` is set. No foreign key to subscribers: a delivery to an erased subscriber
-- stays (naming only an id) and is dropped by the worker.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    notice_id       INTEGER NOT NULL REFERENCES notices (id),
    subscriber_id   INTEGER,
    webhook_id      INTEGER,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_token     TEXT,
    lease_until     INTEGER,
    last_error      TEXT,
    delivered_at    INTEGER,
    created_at      INTEGER NOT NULL,
    CHECK ((subscriber_id IS NULL) <> (webhook_id IS NULL))
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at, id);
CREATE INDEX deliveries_notice ON deliveries (notice_id, id);
