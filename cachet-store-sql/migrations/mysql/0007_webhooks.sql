-- Outbound webhooks (see `cachet_core::webhook`). `events`: event names joined by commas;
-- `secret_sealed`: the signing secret sealed with the data key. Deliveries name a webhook
-- by `deliveries.webhook_id` (no foreign key: a removed webhook's deliveries are dropped).
-- Text as binary strings, as 0002 made every other text column.

CREATE TABLE webhooks (
    id            BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    url           BLOB    NOT NULL,
    events        BLOB    NOT NULL,
    enabled       BOOLEAN NOT NULL,
    secret_sealed BLOB    NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
