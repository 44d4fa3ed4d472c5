-- Dashboard sessions. `hash` is the SHA-256 of the secret in the browser's cookie (never the
-- secret itself); `pending` is set while a second factor is awaited.
CREATE TABLE sessions (
    hash         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    pending      TEXT COLLATE "C",
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_created ON sessions (created_at);
CREATE INDEX sessions_seen ON sessions (last_seen_at);
