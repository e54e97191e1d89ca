-- An article's text moves out of its row into a table of its own, so that lists, modules and
-- related stories read narrow rows and only the article page and the editor read the body.
-- Kept in step with the SQLite migration of the same number, which says why it matters most there.
-- PostgreSQL only marks the dropped columns: existing rows become narrow as they are next
-- written (or at a VACUUM FULL), new ones are narrow at once.
CREATE TABLE article_bodies (
    article_id BIGINT PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    html       TEXT NOT NULL,
    markdown   TEXT NOT NULL
);
INSERT INTO article_bodies (article_id, html, markdown) SELECT id, body_html, body_markdown FROM articles;
ALTER TABLE articles DROP COLUMN body_html;
ALTER TABLE articles DROP COLUMN body_markdown;
