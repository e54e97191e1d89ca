//! View counts: the hourly buckets the beacon's batches land in, and the ranking read from them.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::shared::{article_status, card_columns, cards, media_join};
use super::sql::{sql, sql_built};
use super::{SqlStore, StoreResult, ViewIncrement};
use crate::domain::{ArticleCard, ArticleId};

#[async_trait]
pub trait ViewRepo: Send + Sync {
    /// Adds view counts in one transaction and returns each touched article's new total. Views for
    /// articles that no longer exist are dropped.
    async fn record_views(&self, batch: &[ViewIncrement]) -> StoreResult<Vec<(ArticleId, i64)>>;

    /// Views recorded for an article in the hourly buckets, for checks and reports.
    async fn bucketed_views(&self, id: ArticleId) -> StoreResult<i64>;

    /// Published articles with the most views since `since` (unix seconds), most viewed first.
    async fn popular_articles(&self, since: i64, limit: i64) -> StoreResult<Vec<ArticleCard>>;
}

#[async_trait]
impl ViewRepo for SqlStore {
    async fn record_views(&self, batch: &[ViewIncrement]) -> StoreResult<Vec<(ArticleId, i64)>> {
        // Every flush locks the buckets in key order and then the articles in id order, so flushes
        // from several nodes at once queue on the rows they share instead of deadlocking. The
        // upsert and the increment each read the row's latest committed value under its lock, so
        // no view is lost.
        let mut ordered: Vec<&ViewIncrement> = batch.iter().collect();
        ordered.sort_by_key(|inc| (inc.hour, inc.article_id));
        let mut per_article: BTreeMap<ArticleId, i64> = BTreeMap::new();
        let mut tx = self.db.begin().await?;
        for inc in ordered {
            let done = sql("INSERT INTO view_buckets (article_id, hour, views) \
                 SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM articles WHERE id = $1) \
                 ON CONFLICT (hour, article_id) DO UPDATE SET views = view_buckets.views + EXCLUDED.views")
            .bind(inc.article_id)
            .bind(inc.hour)
            .bind(inc.views)
            .execute(&mut tx)
            .await?;
            if done > 0 {
                *per_article.entry(inc.article_id).or_default() += inc.views;
            }
        }
        let mut totals = Vec::with_capacity(per_article.len());
        for (id, views) in per_article {
            let total: i64 = sql("UPDATE articles SET view_count = view_count + $1 WHERE id = $2 RETURNING view_count")
                .bind(views)
                .bind(id)
                .scalar_one(&mut tx)
                .await?;
            totals.push((id, total));
        }
        tx.commit().await?;
        Ok(totals)
    }

    async fn bucketed_views(&self, id: ArticleId) -> StoreResult<i64> {
        let total: i64 = sql("SELECT CAST(COALESCE(SUM(views), 0) AS BIGINT) FROM view_buckets WHERE article_id = $1")
            .bind(id)
            .scalar_one(&self.db)
            .await?;
        Ok(total)
    }

    async fn popular_articles(&self, since: i64, limit: i64) -> StoreResult<Vec<ArticleCard>> {
        // `+article_id` (grouped by position) keeps SQLite from grouping along the by-article
        // index, which walks every bucket ever counted; instead it reads the window's buckets by
        // hour and groups them aside: 26 ms instead of 110 ms over 100k articles' buckets.
        let rows = sql_built(format!(
            concat!(
                "WITH top AS (SELECT +article_id AS article_id, SUM(views) AS views FROM view_buckets WHERE hour >= $1 \
               GROUP BY 1 ORDER BY views DESC LIMIT $2 * 2) \
             SELECT {} FROM top {} articles a ON a.id = top.article_id JOIN sections s ON s.id = a.section_id {} \
             WHERE a.status = ",
                article_status!(published),
                " ORDER BY top.views DESC, a.published_at DESC LIMIT $2"
            ),
            card_columns!(),
            self.db.dialect().driving_join(),
            media_join!(),
        ))
        .bind(since)
        .bind(limit)
        .fetch_all(&self.db)
        .await?;
        cards(&rows)
    }
}
