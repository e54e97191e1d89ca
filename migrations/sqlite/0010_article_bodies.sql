-- An article's text moves out of its row into a table of its own. SQLite reads a row's columns in
-- order, and with the Markdown and the HTML (together several kilobytes) in the middle of the row,
-- every read of a later column (status, view and comment counts, image) walked the row's overflow
-- pages: each card of a front, a module or a related list paid for the body it does not show. The
-- article row is now a few hundred bytes; the body is read only by the article page and the
-- editor. The HTML comes first, since readers' pages read only it. Kept in step with the
-- PostgreSQL migration of the same number.
CREATE TABLE article_bodies (
    article_id INTEGER PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    html       TEXT NOT NULL,
    markdown   TEXT NOT NULL
);
INSERT INTO article_bodies (article_id, html, markdown) SELECT id, body_html, body_markdown FROM articles;
ALTER TABLE articles DROP COLUMN body_html;
ALTER TABLE articles DROP COLUMN body_markdown;
