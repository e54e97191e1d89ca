-- Comment attempts per reader address (a keyed hash, never the address), so the per-address
-- comment limit holds across every node sharing the database.
CREATE TABLE comment_attempts (
    key TEXT NOT NULL,
    at  INTEGER NOT NULL
);
CREATE INDEX comment_attempts_by_key ON comment_attempts (key, at);
