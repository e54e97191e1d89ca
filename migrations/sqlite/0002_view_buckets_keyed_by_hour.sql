-- Popular Now sums the buckets of the last hours across all articles. Keying the buckets by hour
-- first makes that a range read of the newest rows instead of a scan of every bucket ever kept.

CREATE TABLE view_buckets_hourly (
    hour       INTEGER NOT NULL,
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    views      INTEGER NOT NULL,
    PRIMARY KEY (hour, article_id)
) WITHOUT ROWID;

INSERT INTO view_buckets_hourly (hour, article_id, views) SELECT hour, article_id, views FROM view_buckets;
DROP TABLE view_buckets;
ALTER TABLE view_buckets_hourly RENAME TO view_buckets;
CREATE INDEX view_buckets_by_article ON view_buckets (article_id, hour);
