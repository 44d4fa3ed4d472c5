-- cachet-rs schema for MySQL 8 and MariaDB 10.5+, version 1.
--
-- Instants are BIGINT unix seconds (no time zone handling in the database at all), closed
-- enums BIGINT (checked again by `TryFrom<i64>` when read), floats DOUBLE, JSON MEDIUMTEXT.
-- Every table is InnoDB in utf8mb4 with the binary collation, so text compares and sorts
-- byte-wise and unique keys are case-sensitive, as on PostgreSQL and SQLite. Unique text
-- is VARCHAR (an index needs a bounded length); long text is MEDIUMTEXT (messages and
-- their HTML can pass the 64 KiB of TEXT). The server flags text in a binary collation
-- as binary, so the store reads it as bytes and checks they are UTF-8. Components, incidents and schedules are
-- soft-deleted (`deleted_at`). Names avoid words either engine reserves (`position`, not
-- `order`).

CREATE TABLE component_groups (
    id         BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name       TEXT    NOT NULL,
    position   BIGINT  NOT NULL,
    collapsed  BIGINT  NOT NULL,
    visible    BIGINT  NOT NULL,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE components (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    link        TEXT    NOT NULL,
    status      BIGINT  NOT NULL,
    position    BIGINT  NOT NULL,
    -- No foreign key: as in Cachet, a component may name a group that does not exist.
    group_id    BIGINT,
    enabled     BOOLEAN NOT NULL,
    meta        MEDIUMTEXT,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    deleted_at  BIGINT
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX components_group_id ON components (group_id);

CREATE TABLE tags (
    id   BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name TEXT NOT NULL,
    slug VARCHAR(255) NOT NULL UNIQUE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE component_tags (
    component_id BIGINT NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    tag_id       BIGINT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (component_id, tag_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX component_tags_tag_id ON component_tags (tag_id);

CREATE TABLE incidents (
    id           BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id      BIGINT,
    component_id BIGINT REFERENCES components (id),
    impact       BIGINT,
    name         TEXT    NOT NULL,
    status       BIGINT  NOT NULL,
    visible      BIGINT  NOT NULL,
    stickied     BOOLEAN NOT NULL,
    message      MEDIUMTEXT    NOT NULL,
    message_html MEDIUMTEXT    NOT NULL,
    occurred_at  BIGINT  NOT NULL,
    meta         MEDIUMTEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    deleted_at   BIGINT
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX incidents_component_id ON incidents (component_id);
CREATE INDEX incidents_occurred_at ON incidents (occurred_at);

CREATE TABLE incident_updates (
    id           BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    incident_id  BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    status       BIGINT NOT NULL,
    message      MEDIUMTEXT   NOT NULL,
    message_html MEDIUMTEXT   NOT NULL,
    user_id      BIGINT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX incident_updates_incident ON incident_updates (incident_id, created_at, id);

CREATE TABLE incident_templates (
    id         BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name       TEXT   NOT NULL,
    slug       VARCHAR(255) NOT NULL UNIQUE,
    template   MEDIUMTEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE schedules (
    id           BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name         TEXT   NOT NULL,
    message      MEDIUMTEXT,
    message_html MEDIUMTEXT,
    status       BIGINT NOT NULL,
    scheduled_at BIGINT NOT NULL,
    completed_at BIGINT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    deleted_at   BIGINT
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE schedule_components (
    id               BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    schedule_id      BIGINT NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    component_id     BIGINT NOT NULL REFERENCES components (id),
    component_status BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX schedule_components_schedule ON schedule_components (schedule_id, id);
CREATE INDEX schedule_components_component ON schedule_components (component_id);

CREATE TABLE metrics (
    id            BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name          TEXT             NOT NULL,
    suffix        TEXT             NOT NULL,
    description   TEXT             NOT NULL,
    default_value DOUBLE NOT NULL,
    calc_type     BIGINT           NOT NULL,
    display_chart BOOLEAN          NOT NULL,
    places        BIGINT           NOT NULL,
    default_view  BIGINT           NOT NULL,
    threshold     BIGINT           NOT NULL,
    position      BIGINT           NOT NULL,
    visible       BIGINT           NOT NULL,
    created_at    BIGINT           NOT NULL,
    updated_at    BIGINT           NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE metric_points (
    id         BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    metric_id  BIGINT           NOT NULL REFERENCES metrics (id) ON DELETE CASCADE,
    value      DOUBLE NOT NULL,
    counter    BIGINT           NOT NULL,
    created_at BIGINT           NOT NULL,
    updated_at BIGINT           NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX metric_points_metric_created ON metric_points (metric_id, created_at, id);

CREATE TABLE subscribers (
    id                BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email             VARCHAR(255) NOT NULL UNIQUE,
    verify_code_hash  TEXT    NOT NULL,
    phone_number      TEXT,
    slack_webhook_url TEXT,
    verified_at       BIGINT,
    is_global         BOOLEAN NOT NULL,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE subscriptions (
    id            BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    subscriber_id BIGINT NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    component_id  BIGINT NOT NULL REFERENCES components (id),
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX subscriptions_subscriber ON subscriptions (subscriber_id, id);
CREATE INDEX subscriptions_component ON subscriptions (component_id);

CREATE TABLE users (
    id            BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    username      VARCHAR(255) NOT NULL UNIQUE,
    email         VARCHAR(255) NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          BIGINT  NOT NULL,
    active        BOOLEAN NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE api_tokens (
    id           BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id),
    name         TEXT   NOT NULL,
    prefix       TEXT   NOT NULL,
    hash         CHAR(64) NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX api_tokens_user ON api_tokens (user_id, id);

CREATE TABLE settings (
    name  VARCHAR(191) NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE audit_log (
    id      BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    at      BIGINT NOT NULL,
    user_id BIGINT,
    kind    VARCHAR(64) NOT NULL,
    detail  TEXT   NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX audit_log_kind ON audit_log (kind, id);
CREATE INDEX audit_log_at ON audit_log (at, id);

-- Rows locked (`SELECT ... FOR UPDATE`) to serialize operations that must not run twice at
-- once, such as first-run setup; with row locks a role needs no table-lock privilege.
CREATE TABLE store_locks (
    name VARCHAR(64) NOT NULL PRIMARY KEY
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
INSERT INTO store_locks (name) VALUES ('bootstrap');
