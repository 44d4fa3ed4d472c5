-- Two-factor authentication and narrowed, expiring API tokens.

-- The TOTP secret is sealed with the data key (never in clear); totp_last_step is the last
-- 30-second step a user signed in with, so a code cannot be used twice.
ALTER TABLE users ADD COLUMN totp_secret TEXT COLLATE "C";
ALTER TABLE users ADD COLUMN totp_enabled_at BIGINT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

-- Space-separated ability names (NULL: everything the user's role may); expiry instant.
ALTER TABLE api_tokens ADD COLUMN abilities TEXT COLLATE "C";
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;

-- Single-use recovery codes, as SHA-256 digests.
CREATE TABLE recovery_codes (
    user_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT COLLATE "C" NOT NULL,
    used_at   BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- Subscriber addresses sealed with the data key: from here on `email` holds the keyed
-- lookup digest (unique) and `email_sealed` the encrypted address. Rows from before have
-- the address in `email` and no `email_sealed` until the service seals them at start.
ALTER TABLE subscribers ADD COLUMN email_sealed TEXT COLLATE "C";
