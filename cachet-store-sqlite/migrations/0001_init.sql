-- cachet-rs schema, version 1.
--
-- Instants are INTEGER unix seconds, booleans INTEGER 0/1, closed enums INTEGER (checked
-- again by `TryFrom<i64>` when read), floats REAL, JSON TEXT. Components, incidents and
-- schedules are soft-deleted (`deleted_at`); everything else is deleted for real.

CREATE TABLE component_groups (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    "order"    INTEGER NOT NULL DEFAULT 0,
    collapsed  INTEGER NOT NULL DEFAULT 0,
    visible    INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE components (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    link        TEXT    NOT NULL DEFAULT '',
    status      INTEGER NOT NULL,
    "order"     INTEGER NOT NULL DEFAULT 0,
    -- No foreign key: as in Cachet, a component may name a group that does not exist.
    group_id    INTEGER,
    enabled     INTEGER NOT NULL DEFAULT 1,
    meta        TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    deleted_at  INTEGER
);
CREATE INDEX components_group_id ON components (group_id);

CREATE TABLE tags (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE
);

CREATE TABLE component_tags (
    component_id INTEGER NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    tag_id       INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (component_id, tag_id)
) WITHOUT ROWID;
CREATE INDEX component_tags_tag_id ON component_tags (tag_id);

CREATE TABLE incidents (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER,
    component_id INTEGER REFERENCES components (id),
    impact       INTEGER,
    name         TEXT    NOT NULL,
    status       INTEGER NOT NULL,
    visible      INTEGER NOT NULL,
    stickied     INTEGER NOT NULL,
    message      TEXT    NOT NULL,
    message_html TEXT    NOT NULL,
    occurred_at  INTEGER NOT NULL,
    meta         TEXT    NOT NULL DEFAULT '{}',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    deleted_at   INTEGER
);
CREATE INDEX incidents_component_id ON incidents (component_id);
CREATE INDEX incidents_occurred_at ON incidents (occurred_at);

CREATE TABLE incident_updates (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id  INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    status       INTEGER NOT NULL,
    message      TEXT    NOT NULL,
    message_html TEXT    NOT NULL,
    user_id      INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX incident_updates_incident ON incident_updates (incident_id, created_at, id);

CREATE TABLE incident_templates (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    slug       TEXT    NOT NULL UNIQUE,
    template   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE schedules (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL,
    message      TEXT,
    message_html TEXT,
    status       INTEGER NOT NULL,
    scheduled_at INTEGER NOT NULL,
    completed_at INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    deleted_at   INTEGER
);

CREATE TABLE schedule_components (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule_id      INTEGER NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    component_id     INTEGER NOT NULL REFERENCES components (id),
    component_status INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX schedule_components_schedule ON schedule_components (schedule_id, id);
CREATE INDEX schedule_components_component ON schedule_components (component_id);

CREATE TABLE metrics (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL,
    suffix        TEXT    NOT NULL DEFAULT '',
    description   TEXT    NOT NULL DEFAULT '',
    default_value REAL    NOT NULL DEFAULT 0,
    calc_type     INTEGER NOT NULL,
    display_chart INTEGER NOT NULL,
    places        INTEGER NOT NULL,
    default_view  INTEGER NOT NULL,
    threshold     INTEGER NOT NULL,
    "order"       INTEGER NOT NULL DEFAULT 0,
    visible       INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE metric_points (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    metric_id  INTEGER NOT NULL REFERENCES metrics (id) ON DELETE CASCADE,
    value      REAL    NOT NULL,
    counter    INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX metric_points_metric_created ON metric_points (metric_id, created_at, id);

CREATE TABLE subscribers (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    email             TEXT    NOT NULL UNIQUE,
    verify_code_hash  TEXT    NOT NULL,
    phone_number      TEXT,
    slack_webhook_url TEXT,
    verified_at       INTEGER,
    global            INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);

CREATE TABLE subscriptions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    component_id  INTEGER NOT NULL REFERENCES components (id),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX subscriptions_subscriber ON subscriptions (subscriber_id, id);
CREATE INDEX subscriptions_component ON subscriptions (component_id);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          INTEGER NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    name         TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    hash         TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, id);

CREATE TABLE settings (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    user_id INTEGER,
    kind    TEXT    NOT NULL,
    detail  TEXT    NOT NULL
);
CREATE INDEX audit_log_kind ON audit_log (kind, id);
CREATE INDEX audit_log_at ON audit_log (at, id);
