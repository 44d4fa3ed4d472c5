-- The notification outbox (see `cachet_core::notify`): a notice per event that notifies
-- someone, and a delivery per recipient, both written in the transaction of the change.
-- Text as binary strings, as 0002 made every other text column.

CREATE TABLE notices (
    id         BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    event      VARBINARY(255) NOT NULL,
    entity_id  BIGINT,
    subject    BLOB       NOT NULL,
    text_body  MEDIUMBLOB NOT NULL,
    html_body  MEDIUMBLOB NOT NULL,
    created_at BIGINT     NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- `state`: pending, delivered, failed or dropped. A pending row is due at `next_attempt_at`
-- and free to claim when `lease_until` is NULL or past. Exactly one of `subscriber_id` and
-- `webhook_id` is set. No foreign key to subscribers: a delivery to an erased subscriber
-- stays (naming only an id) and is dropped by the worker.
CREATE TABLE deliveries (
    id              BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    notice_id       BIGINT NOT NULL,
    subscriber_id   BIGINT,
    webhook_id      BIGINT,
    state           VARBINARY(16) NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_token     VARBINARY(255),
    lease_until     BIGINT,
    last_error      BLOB,
    delivered_at    BIGINT,
    created_at      BIGINT NOT NULL,
    KEY deliveries_due (state, next_attempt_at, id),
    KEY deliveries_notice (notice_id, id),
    FOREIGN KEY (notice_id) REFERENCES notices (id),
    CHECK ((subscriber_id IS NULL) <> (webhook_id IS NULL))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
