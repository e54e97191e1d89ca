-- The reader site: sections, authors, tags, articles, editors' picks, comments, views.
-- Times are unix seconds (UTC) so both backends store them the same way.

CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE sections (
    id       INTEGER PRIMARY KEY,
    slug     TEXT NOT NULL UNIQUE,
    name     TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE authors (
    id        INTEGER PRIMARY KEY,
    slug      TEXT NOT NULL UNIQUE,
    name      TEXT NOT NULL,
    email     TEXT NOT NULL,
    bio       TEXT NOT NULL DEFAULT '',
    photo_url TEXT
);

CREATE TABLE tags (
    id   INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
);

CREATE TABLE articles (
    id            INTEGER PRIMARY KEY,
    section_id    INTEGER NOT NULL REFERENCES sections (id),
    slug          TEXT NOT NULL UNIQUE,
    headline      TEXT NOT NULL,
    dek           TEXT NOT NULL DEFAULT '',
    body_markdown TEXT NOT NULL,
    body_html     TEXT NOT NULL,
    image_url     TEXT,
    image_alt     TEXT,
    image_caption TEXT,
    image_credit  TEXT,
    image_width   INTEGER,
    image_height  INTEGER,
    status        TEXT NOT NULL CHECK (status IN ('draft', 'published', 'unpublished')),
    published_at  INTEGER,
    updated_at    INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    -- Running totals kept beside the detail rows so lists never count on the fly.
    view_count    INTEGER NOT NULL DEFAULT 0,
    comment_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX articles_by_status_time ON articles (status, published_at DESC);
CREATE INDEX articles_by_section_time ON articles (section_id, status, published_at DESC);

CREATE TABLE article_authors (
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    author_id  INTEGER NOT NULL REFERENCES authors (id),
    position   INTEGER NOT NULL,
    PRIMARY KEY (article_id, author_id)
);
CREATE INDEX article_authors_by_author ON article_authors (author_id, article_id);

CREATE TABLE article_tags (
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    tag_id     INTEGER NOT NULL REFERENCES tags (id),
    position   INTEGER NOT NULL,
    PRIMARY KEY (article_id, tag_id)
);
CREATE INDEX article_tags_by_tag ON article_tags (tag_id, article_id);

-- Editors' picks, in the editors' order.
CREATE TABLE must_reads (
    position   INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL UNIQUE REFERENCES articles (id) ON DELETE CASCADE
);

CREATE TABLE related_articles (
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    rank       INTEGER NOT NULL,
    related_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    score      REAL NOT NULL,
    PRIMARY KEY (article_id, rank)
);

CREATE TABLE comments (
    id          INTEGER PRIMARY KEY,
    article_id  INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    author_name TEXT NOT NULL,
    body        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('published', 'held', 'rejected', 'spam')),
    fingerprint TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX comments_by_article ON comments (article_id, status, created_at);

-- Views per article per hour; Popular Now sums the recent buckets.
CREATE TABLE view_buckets (
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    hour       INTEGER NOT NULL,
    views      INTEGER NOT NULL,
    PRIMARY KEY (article_id, hour)
) WITHOUT ROWID;
CREATE INDEX view_buckets_by_hour ON view_buckets (hour, article_id);
