-- Popular Now sums the buckets of the last hours across all articles. Keying the buckets by hour
-- first makes that a range read of the newest rows instead of a scan of every bucket ever kept.
-- (Kept in step with the SQLite migration of the same number; PostgreSQL does the same by
-- swapping the primary key.)

ALTER TABLE view_buckets DROP CONSTRAINT view_buckets_pkey;
ALTER TABLE view_buckets ADD PRIMARY KEY (hour, article_id);
DROP INDEX view_buckets_by_hour;
CREATE INDEX view_buckets_by_article ON view_buckets (article_id, hour);
