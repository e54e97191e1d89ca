//! PostgreSQL over TLS with the certificate verified (`sslmode=verify-full`, `sslrootcert=`), as
//! managed databases require. Needs a server with TLS on: `tests/postgres-tls-setup` turns it on
//! for the local one and prints the CA certificate's path, which `BROADSHEET_TEST_POSTGRES_TLS_CA`
//! names (a second CA, `unrelated-ca.crt`, lies beside it). Without that server these tests cannot
//! run, so they are ignored (reported as such) unless asked for with `--include-ignored`, as
//! `.ci/run` does with the variable set; asked for without it, they fail.

use std::path::{Path, PathBuf};

use broadsheet::config::Settings;
use sqlx::Connection;

use crate::helpers::{POSTGRES_ENV, TestDb, postgres_server};

const CA_ENV: &str = "BROADSHEET_TEST_POSTGRES_TLS_CA";

/// Why these tests are ignored by default.
const NEEDS_TLS: &str = "needs PostgreSQL with TLS: set BROADSHEET_TEST_POSTGRES_TLS_CA (tests/postgres-tls-setup)";

/// The CA file; a test that was asked for without the TLS server set up fails.
fn ca_file() -> PathBuf {
    let ca = std::env::var_os(CA_ENV)
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| panic!("{CA_ENV} is not set: run tests/postgres-tls-setup ({NEEDS_TLS})"));
    assert!(postgres_server().is_some(), "{CA_ENV} is set, so set {POSTGRES_ENV} to the same server too");
    PathBuf::from(ca)
}

/// `url` with TLS parameters added to its query string.
fn with_tls(url: &str, mode: &str, root_cert: Option<&Path>) -> String {
    let mut params = format!("sslmode={mode}");
    if let Some(cert) = root_cert {
        params.push_str(&format!("&sslrootcert={}", cert.display()));
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{params}")
}

fn settings_for(db: &TestDb, url: String) -> Settings {
    let mut settings = Settings::default();
    db.configure(&mut settings);
    settings.database.url = Some(url);
    settings
}

/// Whether a connection made with `url` is encrypted, as the server sees it.
async fn connection_is_encrypted(url: &str) -> bool {
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .expect("pg_stat_ssl");
    conn.close().await.ok();
    ssl
}

#[tokio::test]
#[ignore = "needs PostgreSQL with TLS: set BROADSHEET_TEST_POSTGRES_TLS_CA (tests/postgres-tls-setup)"]
async fn postgres_tls_verify_full_with_the_servers_ca_connects() {
    let ca = ca_file();
    let db = TestDb::new().await;
    let url = with_tls(db.postgres_url().expect("a PostgreSQL database"), "verify-full", Some(&ca));

    let store = broadsheet::store::open(&settings_for(&db, url.clone())).await.expect("open the store over TLS");

    assert!(store.ready().await.expect("the store answers over TLS"));
    assert!(connection_is_encrypted(&url).await, "verify-full gave an unencrypted connection");
}

#[tokio::test]
#[ignore = "needs PostgreSQL with TLS: set BROADSHEET_TEST_POSTGRES_TLS_CA (tests/postgres-tls-setup)"]
async fn postgres_tls_require_connects_without_a_root_certificate() {
    ca_file();
    let db = TestDb::new().await;
    let url = with_tls(db.postgres_url().expect("a PostgreSQL database"), "require", None);

    let store = broadsheet::store::open(&settings_for(&db, url.clone())).await.expect("open the store over TLS");

    assert!(store.ready().await.expect("the store answers over TLS"));
    assert!(connection_is_encrypted(&url).await, "require gave an unencrypted connection");
}

#[tokio::test]
#[ignore = "needs PostgreSQL with TLS: set BROADSHEET_TEST_POSTGRES_TLS_CA (tests/postgres-tls-setup)"]
async fn postgres_tls_verify_full_with_an_unrelated_ca_is_refused_clearly() {
    let ca = ca_file();
    let unrelated = ca.with_file_name("unrelated-ca.crt");
    assert!(unrelated.is_file(), "{} is missing (made by tests/postgres-tls-setup)", unrelated.display());
    let db = TestDb::new().await;
    let url = with_tls(db.postgres_url().expect("a PostgreSQL database"), "verify-full", Some(&unrelated));

    let refused = broadsheet::store::open(&settings_for(&db, url)).await;

    let error = match refused {
        Ok(_) => panic!("a server certificate from another CA was accepted"),
        Err(e) => e.to_string(),
    };
    // "database error: error occurred while attempting to establish a TLS connection: invalid
    // peer certificate: UnknownIssuer"
    assert!(error.contains("TLS connection") && error.contains("certificate"), "unclear error: {error}");
}
