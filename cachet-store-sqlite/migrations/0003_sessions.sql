-- Dashboard sessions. `hash` is the SHA-256 of the secret in the browser's cookie (never the
-- secret itself); `pending` is set while a second factor is awaited.
CREATE TABLE sessions (
    hash         TEXT    NOT NULL PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    pending      TEXT,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_created ON sessions (created_at);
CREATE INDEX sessions_seen ON sessions (last_seen_at);
