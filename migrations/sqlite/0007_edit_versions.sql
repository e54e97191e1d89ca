-- Lost updates: every save names the version it was based on, and a save based on an older one is
-- refused instead of silently overwriting what someone else saved meanwhile. Articles carry their
-- own counter; the curated lists and the site settings have one each here, by name.
ALTER TABLE articles ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

CREATE TABLE edit_versions (
    name    TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);

-- A story that was never published had no address readers could know: redirects left by renaming
-- it as a draft only told its new slug early (and kept that slug from other stories).
DELETE FROM slug_redirects WHERE article_id IN (SELECT id FROM articles WHERE published_at IS NULL);
