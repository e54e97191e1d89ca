-- Author and tag pages list a person's or topic's newest stories. Keeping the publication time of
-- published articles beside the author and tag links lets those lists be read in order from one
-- index, instead of sorting every article an author ever wrote.

ALTER TABLE article_authors ADD COLUMN published_at BIGINT;
ALTER TABLE article_tags ADD COLUMN published_at BIGINT;

UPDATE article_authors f SET published_at = a.published_at FROM articles a
    WHERE a.id = f.article_id AND a.status = 'published';
UPDATE article_tags f SET published_at = a.published_at FROM articles a
    WHERE a.id = f.article_id AND a.status = 'published';

CREATE INDEX article_authors_published ON article_authors (author_id, published_at DESC, article_id DESC)
    WHERE published_at IS NOT NULL;
CREATE INDEX article_tags_published ON article_tags (tag_id, published_at DESC, article_id DESC)
    WHERE published_at IS NOT NULL;
