//! The store as a whole: its secrets, whether the database is ready, the pool, and the change
//! announcements that keep several nodes' caches in step.

use async_trait::async_trait;

use super::shared::fresh_secret;
use super::sql::{Dialect, Pool, sql};
use super::{SqlStore, StoreResult};

#[async_trait]
impl super::Store for SqlStore {
    async fn secret(&self, name: &str) -> StoreResult<Vec<u8>> {
        let fresh = fresh_secret()?;
        // Insert-if-absent then read, so concurrent first callers agree on one value.
        sql("INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(&fresh[..])
            .execute(&self.db)
            .await?;
        let value: Vec<u8> = sql("SELECT value FROM secrets WHERE name = $1").bind(name).scalar_one(&self.db).await?;
        Ok(value)
    }

    fn shared_by_nodes(&self) -> bool {
        self.db.dialect() == Dialect::Postgres
    }

    async fn ready(&self) -> StoreResult<bool> {
        let applied: i64 = sql("SELECT COUNT(*) FROM _sqlx_migrations WHERE success").scalar_one(&self.db).await?;
        let known = match self.db.dialect() {
            Dialect::Sqlite => super::sqlite::migrations(),
            Dialect::Postgres => super::postgres::migrations(),
        };
        Ok(applied >= known as i64)
    }

    async fn refresh_planner_statistics(&self) -> StoreResult<()> {
        match self.db.dialect() {
            // Without statistics PostgreSQL guesses a few hundred published articles where there
            // are a hundred thousand, and an uncached article page hash-joined all of them: 167 ms
            // instead of about 1 ms. Autovacuum would analyze eventually, but it can be off (it is
            // on our test machines) and does not run the moment a load ends.
            Dialect::Postgres => {
                sql("ANALYZE").execute(&self.db).await?;
            }
            // SQLite's statements carry their own plan hints (`CROSS JOIN`, `INDEXED BY`) and are
            // measured without statistics; gathering them would change plans nobody measured.
            Dialect::Sqlite => {}
        }
        Ok(())
    }

    fn pool_stats(&self) -> (u32, u32) {
        self.db.pool_stats()
    }

    fn statements_run(&self) -> u64 {
        self.db.statements_run()
    }

    async fn announce(&self, change: &str) -> StoreResult<()> {
        match &self.db.pool {
            Pool::Postgres(pool) => super::postgres_changes::announce(pool, change).await,
            // One node: nobody else to tell.
            Pool::Sqlite(_) => Ok(()),
        }
    }

    fn watch_changes(
        &self,
        on_heard: std::sync::Arc<dyn Fn(super::postgres_changes::Heard) + Send + Sync>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        match &self.db.pool {
            Pool::Postgres(pool) => Some(super::postgres_changes::watch(pool.clone(), on_heard)),
            Pool::Sqlite(_) => None,
        }
    }
}
