-- Text compared byte for byte, as on PostgreSQL ("C") and SQLite (BINARY).
--
-- utf8mb4_bin, which 0001 used, is a PAD SPACE collation: "x" and "x " compare equal, so a
-- name filter found both, "bob " collided with "bob" and sorting moved trailing tabs and
-- spaces around. The NO PAD binary collations have different names on MySQL 8 and MariaDB,
-- so every text column becomes a binary string type instead: compared, sorted and made
-- unique by its UTF-8 bytes (which sort in code point order), on both. The store reads them
-- as bytes and checks that they are UTF-8. Lengths are in bytes, four per character.
ALTER TABLE component_groups MODIFY name BLOB NOT NULL;
ALTER TABLE components MODIFY name BLOB NOT NULL, MODIFY description BLOB NOT NULL,
    MODIFY link BLOB NOT NULL, MODIFY meta MEDIUMBLOB;
ALTER TABLE tags MODIFY name BLOB NOT NULL, MODIFY slug VARBINARY(1020) NOT NULL;
ALTER TABLE incidents MODIFY name BLOB NOT NULL, MODIFY message MEDIUMBLOB NOT NULL,
    MODIFY message_html MEDIUMBLOB NOT NULL, MODIFY meta MEDIUMBLOB NOT NULL;
ALTER TABLE incident_updates MODIFY message MEDIUMBLOB NOT NULL,
    MODIFY message_html MEDIUMBLOB NOT NULL;
ALTER TABLE incident_templates MODIFY name BLOB NOT NULL, MODIFY slug VARBINARY(1020) NOT NULL,
    MODIFY template MEDIUMBLOB NOT NULL;
ALTER TABLE schedules MODIFY name BLOB NOT NULL, MODIFY message MEDIUMBLOB,
    MODIFY message_html MEDIUMBLOB;
ALTER TABLE metrics MODIFY name BLOB NOT NULL, MODIFY suffix BLOB NOT NULL,
    MODIFY description BLOB NOT NULL;
ALTER TABLE subscribers MODIFY email VARBINARY(1020) NOT NULL,
    MODIFY verify_code_hash BLOB NOT NULL, MODIFY phone_number BLOB,
    MODIFY slack_webhook_url BLOB;
ALTER TABLE users MODIFY username VARBINARY(1020) NOT NULL, MODIFY email VARBINARY(1020) NOT NULL,
    MODIFY password_hash BLOB NOT NULL;
ALTER TABLE api_tokens MODIFY name BLOB NOT NULL, MODIFY prefix BLOB NOT NULL;
ALTER TABLE settings MODIFY name VARBINARY(764) NOT NULL, MODIFY value BLOB NOT NULL;
ALTER TABLE audit_log MODIFY kind VARBINARY(256) NOT NULL, MODIFY detail BLOB NOT NULL;
