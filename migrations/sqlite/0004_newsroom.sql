-- no-transaction
-- The newsroom: accounts and sessions, the editorial workflow, revisions, corrections, media,
-- curation, moderation, site settings and the audit log.
--
-- The articles table is rebuilt because its status check gains the review and scheduled states and
-- SQLite cannot alter a CHECK constraint. This is SQLite's documented twelve-step rebuild: foreign
-- keys are switched off around it (that cannot happen inside a transaction, hence no-transaction
-- above), and the rest runs in one explicit transaction so a failure leaves the old schema intact.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE users (
    id                  INTEGER PRIMARY KEY,
    email               TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name                TEXT NOT NULL,
    role                TEXT NOT NULL CHECK (role IN ('contributor', 'author', 'editor', 'admin')),
    password_hash       TEXT,
    -- The byline this account writes under; created with the account.
    author_id           INTEGER NOT NULL UNIQUE REFERENCES authors (id),
    totp_secret         BLOB,
    totp_last_step      INTEGER,
    disabled_at         INTEGER,
    created_at          INTEGER NOT NULL
);

-- One-time links that let a new user set a password. Only a hash of the token is kept.
CREATE TABLE password_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

CREATE TABLE recovery_codes (
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at   INTEGER,
    PRIMARY KEY (user_id, code_hash)
);

-- Server-side sessions. The cookie holds a random token; only its hash is stored, so a copy of the
-- database does not let anyone sign in.
CREATE TABLE sessions (
    token_hash    TEXT PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token    TEXT NOT NULL,
    -- Set while the second factor is still owed; such a session grants nothing else.
    pending_totp  INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    reauth_at     INTEGER NOT NULL,
    ip            TEXT NOT NULL,
    user_agent    TEXT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Failed sign-ins, per address and per account, for rate limiting that every node sees.
CREATE TABLE login_failures (
    scope TEXT NOT NULL CHECK (scope IN ('ip', 'account')),
    key   TEXT NOT NULL,
    at    INTEGER NOT NULL
);
CREATE INDEX login_failures_by_key ON login_failures (scope, key, at);

CREATE TABLE media (
    id            INTEGER PRIMARY KEY,
    hash          TEXT NOT NULL UNIQUE,
    format        TEXT NOT NULL CHECK (format IN ('jpeg', 'png', 'webp', 'gif')),
    width         INTEGER NOT NULL,
    height        INTEGER NOT NULL,
    bytes         INTEGER NOT NULL,
    original_name TEXT NOT NULL,
    alt           TEXT NOT NULL DEFAULT '',
    caption       TEXT NOT NULL DEFAULT '',
    credit        TEXT NOT NULL DEFAULT '',
    focal_x       REAL NOT NULL DEFAULT 0.5,
    focal_y       REAL NOT NULL DEFAULT 0.5,
    -- JSON list of the resized variants; NULL until the background worker has made them.
    variants      TEXT,
    uploaded_by   INTEGER REFERENCES users (id),
    created_at    INTEGER NOT NULL
);
CREATE INDEX media_pending ON media (id) WHERE variants IS NULL;

CREATE TABLE articles_new (
    id              INTEGER PRIMARY KEY,
    section_id      INTEGER NOT NULL REFERENCES sections (id),
    slug            TEXT NOT NULL UNIQUE,
    headline        TEXT NOT NULL,
    dek             TEXT NOT NULL DEFAULT '',
    body_markdown   TEXT NOT NULL,
    body_html       TEXT NOT NULL,
    image_url       TEXT,
    image_alt       TEXT,
    image_caption   TEXT,
    image_credit    TEXT,
    image_width     INTEGER,
    image_height    INTEGER,
    image_media_id  INTEGER REFERENCES media (id),
    seo_title       TEXT NOT NULL DEFAULT '',
    seo_description TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL
                    CHECK (status IN ('draft', 'in_review', 'scheduled', 'published', 'unpublished')),
    -- When a scheduled article goes live, and when a published one comes down. The scheduler
    -- clears each as it fires, in the same statement that changes the status.
    publish_at      INTEGER,
    unpublish_at    INTEGER,
    published_at    INTEGER,
    updated_at      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    created_by      INTEGER REFERENCES users (id),
    view_count      INTEGER NOT NULL DEFAULT 0,
    comment_count   INTEGER NOT NULL DEFAULT 0
);
INSERT INTO articles_new (id, section_id, slug, headline, dek, body_markdown, body_html, image_url, image_alt,
    image_caption, image_credit, image_width, image_height, status, published_at, updated_at, created_at,
    view_count, comment_count)
SELECT id, section_id, slug, headline, dek, body_markdown, body_html, image_url, image_alt, image_caption,
    image_credit, image_width, image_height, status, published_at, updated_at, created_at, view_count,
    comment_count
FROM articles;
DROP TABLE articles;
ALTER TABLE articles_new RENAME TO articles;
CREATE INDEX articles_by_status_time ON articles (status, published_at DESC);
CREATE INDEX articles_by_section_time ON articles (section_id, status, published_at DESC);
CREATE INDEX articles_by_update ON articles (updated_at DESC);
CREATE INDEX articles_due_to_publish ON articles (publish_at) WHERE publish_at IS NOT NULL;
CREATE INDEX articles_due_to_unpublish ON articles (unpublish_at) WHERE unpublish_at IS NOT NULL;

-- Every status change, with who made it (NULL: the scheduler) and when.
CREATE TABLE workflow_events (
    id          INTEGER PRIMARY KEY,
    article_id  INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    user_id     INTEGER REFERENCES users (id),
    at          INTEGER NOT NULL
);
CREATE INDEX workflow_events_by_article ON workflow_events (article_id, id);

-- A full copy of the editable fields at every save (JSON), so any two can be compared or one restored.
CREATE TABLE revisions (
    id         INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    user_id    INTEGER REFERENCES users (id),
    autosave   INTEGER NOT NULL DEFAULT 0,
    snapshot   TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX revisions_by_article ON revisions (article_id, id DESC);

-- Old slugs keep answering with a permanent redirect after a rename.
CREATE TABLE slug_redirects (
    old_slug   TEXT PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE
);

CREATE TABLE corrections (
    id         INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('correction', 'clarification', 'update')),
    body       TEXT NOT NULL,
    user_id    INTEGER REFERENCES users (id),
    created_at INTEGER NOT NULL
);
CREATE INDEX corrections_by_article ON corrections (article_id, created_at);
CREATE INDEX corrections_by_time ON corrections (created_at DESC);

ALTER TABLE must_reads ADD COLUMN expires_at INTEGER;

-- The home page's lead story and top stories, in the editors' order.
CREATE TABLE home_slots (
    position   INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL UNIQUE REFERENCES articles (id) ON DELETE CASCADE
);

ALTER TABLE sections ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;

-- Newsroom-editable settings (site name, breaking banner, comment policy, ...), one JSON value per key.
CREATE TABLE site_settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE blocked_fingerprints (
    fingerprint TEXT PRIMARY KEY,
    user_id     INTEGER REFERENCES users (id),
    created_at  INTEGER NOT NULL
);
CREATE INDEX comments_by_status ON comments (status, created_at DESC);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    user_id     INTEGER REFERENCES users (id),
    action      TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   INTEGER,
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_by_time ON audit_log (id DESC);

COMMIT;
PRAGMA foreign_keys = ON;
