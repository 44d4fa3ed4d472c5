-- Outbound webhooks (see `cachet_core::webhook`). `events`: event names joined by commas;
-- `secret_sealed`: the signing secret sealed with the data key. Deliveries name a webhook
-- by `deliveries.webhook_id` (no foreign key: a removed webhook's deliveries are dropped).
--
-- (`MIGRATIONS` in src/migrate.rs lists this file sixth; `user_version` counts the list.)

CREATE TABLE webhooks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    url           TEXT    NOT NULL,
    events        TEXT    NOT NULL,
    enabled       INTEGER NOT NULL,
    secret_sealed TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
