//! The two migration sets describe one schema: applied to an empty SQLite file and an empty
//! PostgreSQL database, they give the same tables with the same columns, of matching types and
//! nullability. The PostgreSQL half needs `BROADSHEET_TEST_POSTGRES`; without it only the SQLite
//! migrations are applied and the comparison is skipped with a notice.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, Row};

use crate::helpers::{POSTGRES_ENV, TestDb};

/// Table → column → (type in PostgreSQL's words, NOT NULL).
type Schema = BTreeMap<String, BTreeMap<String, (String, bool)>>;

const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

async fn migrator(backend: &str) -> sqlx::migrate::Migrator {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(backend);
    sqlx::migrate::Migrator::new(dir).await.expect("read migrations")
}

/// SQLite's declared column types as PostgreSQL names them.
fn sqlite_type_in_postgres(declared: &str) -> String {
    match declared.to_ascii_uppercase().as_str() {
        "INTEGER" => "bigint".into(),
        "TEXT" => "text".into(),
        "BLOB" => "bytea".into(),
        "REAL" => "real".into(),
        other => format!("unmapped SQLite type {other}"),
    }
}

async fn sqlite_schema(dir: &Path) -> Schema {
    let options = SqliteConnectOptions::from_str("sqlite:")
        .expect("options")
        .filename(dir.join("schema.db"))
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.expect("open SQLite");
    migrator("sqlite").await.run(&pool).await.expect("SQLite migrations apply");
    let rows = sqlx::query(
        "SELECT m.name, p.name, p.type, p.\"notnull\", p.pk FROM sqlite_master m, pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> ?",
    )
    .bind(MIGRATIONS_TABLE)
    .fetch_all(&pool)
    .await
    .expect("SQLite columns");
    let mut schema = Schema::new();
    for row in rows {
        let declared: String = row.get(2);
        // A primary key column holds no NULL (SQLite's rowid alias cannot; PostgreSQL makes every
        // key column NOT NULL), whether or not it was declared so.
        let not_null = row.get::<i64, _>(3) != 0 || row.get::<i64, _>(4) > 0;
        schema.entry(row.get(0)).or_default().insert(row.get(1), (sqlite_type_in_postgres(&declared), not_null));
    }
    pool.close().await;
    schema
}

async fn postgres_schema(url: &str) -> Schema {
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect to PostgreSQL");
    migrator("postgres").await.run(&mut conn).await.expect("PostgreSQL migrations apply");
    let rows = sqlx::query(
        "SELECT c.table_name::TEXT, c.column_name::TEXT, c.data_type::TEXT, c.is_nullable::TEXT \
         FROM information_schema.columns c JOIN information_schema.tables t \
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.table_name <> $1",
    )
    .bind(MIGRATIONS_TABLE)
    .fetch_all(&mut conn)
    .await
    .expect("PostgreSQL columns");
    let mut schema = Schema::new();
    for row in rows {
        let nullable: String = row.get(3);
        schema.entry(row.get(0)).or_default().insert(row.get(1), (row.get(2), nullable == "NO"));
    }
    conn.close().await.ok();
    schema
}

#[tokio::test]
async fn sqlite_migrations_make_the_schema() {
    let db = TestDb::new().await;
    let sqlite = sqlite_schema(db.data_dir()).await;
    assert!(sqlite.contains_key("articles") && sqlite.contains_key("users"), "{:?}", sqlite.keys());
}

#[tokio::test]
#[ignore = "needs BROADSHEET_TEST_POSTGRES (compares against PostgreSQL's schema)"]
async fn postgres_and_sqlite_migrations_make_the_same_schema() {
    let db = TestDb::new().await;
    let sqlite = sqlite_schema(db.data_dir()).await;
    let url = db.postgres_url().unwrap_or_else(|| panic!("{POSTGRES_ENV} is not set: nothing to compare with"));
    let postgres = postgres_schema(url).await;

    assert_eq!(
        sqlite.keys().collect::<Vec<_>>(),
        postgres.keys().collect::<Vec<_>>(),
        "the two migration sets make different tables"
    );
    let mut differences = Vec::new();
    for (table, sqlite_columns) in &sqlite {
        let postgres_columns = &postgres[table];
        for (column, sqlite_column) in sqlite_columns {
            match postgres_columns.get(column) {
                None => differences.push(format!("{table}.{column}: only in SQLite")),
                Some(pg) if pg != sqlite_column => differences.push(format!(
                    "{table}.{column}: SQLite {} {}, PostgreSQL {} {}",
                    sqlite_column.0,
                    if sqlite_column.1 { "NOT NULL" } else { "NULL" },
                    pg.0,
                    if pg.1 { "NOT NULL" } else { "NULL" },
                )),
                Some(_) => {}
            }
        }
        for column in postgres_columns.keys().filter(|c| !sqlite_columns.contains_key(*c)) {
            differences.push(format!("{table}.{column}: only in PostgreSQL"));
        }
    }
    assert!(differences.is_empty(), "the migration sets disagree:\n{}", differences.join("\n"));
}
