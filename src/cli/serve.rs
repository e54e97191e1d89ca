//! `broadsheet serve`: open the store, optionally load the demo newsroom, and serve the site until
//! Ctrl-C or SIGTERM, then flush buffered views and stop.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::config::Settings;
use crate::web::{self, AppState};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    pub addr: Option<SocketAddr>,
    /// A second, private listener for /metrics and the detailed /readyz (e.g. 127.0.0.1:9090);
    /// the public port then answers neither in full [default: none].
    #[arg(long)]
    pub ops_addr: Option<SocketAddr>,
    /// Folder for the database and media [default: ./data].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// A settings file (see broadsheet.example.toml).
    #[arg(long, env = "BROADSHEET_CONFIG")]
    pub config: Option<PathBuf>,
    /// Load the demo newsroom if the database has no articles yet.
    #[arg(long)]
    pub demo: bool,
    /// Use PostgreSQL (`postgres://…`) instead of the embedded SQLite database; several nodes can
    /// share it.
    #[arg(long, env = "BROADSHEET__DATABASE__URL")]
    pub database_url: Option<String>,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mut settings = Settings::load(args.config.as_deref()).context("reading settings")?;
    if let Some(addr) = args.addr {
        settings.server.addr = addr;
    }
    if let Some(addr) = args.ops_addr {
        settings.server.ops_addr = Some(addr);
    }
    if let Some(dir) = args.data_dir {
        settings.server.data_dir = dir;
    }
    if let Some(url) = args.database_url {
        settings.database.url = Some(url);
    }
    if settings.server.trust_forwarded_for {
        tracing::warn!(
            "server.trust_forwarded_for is deprecated: it now means server.proxy_hops = 1 (the reader's \
             address is the right-most X-Forwarded-For entry); set proxy_hops or trusted_proxies instead"
        );
    }
    let store = crate::store::open(&settings).await.context("opening the database")?;

    if args.demo {
        let loaded = crate::demo::load_if_empty(store.as_ref(), &settings.media_dir())
            .await
            .context("loading the demo newsroom")?;
        match loaded {
            Some(count) => tracing::info!(articles = count, "demo newsroom loaded"),
            None => tracing::info!("database already has articles; demo newsroom not loaded"),
        }
    }

    let listener = tokio::net::TcpListener::bind(settings.server.addr)
        .await
        .with_context(|| format!("listening on {}", settings.server.addr))?;
    let local = listener.local_addr()?;
    let ops_listener = match settings.server.ops_addr {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr).await.with_context(|| format!("listening for operations on {addr}"))?,
        ),
        None => None,
    };
    if settings.site.base_url.is_none() {
        settings.server.addr = local;
    }
    let state = AppState::new(settings, store).await.context("starting the site")?;
    let jobs = crate::jobs::start(&state);
    if state.store.users().await.map(|u| u.is_empty()).unwrap_or(false) {
        println!(
            "No newsroom accounts yet. Create the first administrator with:\n  broadsheet user add --email you@example.com --name \"Your Name\" --role admin --data-dir {}",
            state.settings.server.data_dir.display()
        );
    }

    println!("Broadsheet is running at http://{local}/  (Ctrl-C to stop)");
    let ops_server = match ops_listener {
        Some(ops_listener) => {
            let ops_local = ops_listener.local_addr()?;
            println!("Operations (/metrics, /readyz, /healthz) at http://{ops_local}/");
            let ops_app = web::ops::router(state.clone());
            Some(tokio::spawn(async move {
                if let Err(e) = axum::serve(ops_listener, ops_app).await {
                    tracing::error!(error = %e, "the operations listener stopped");
                }
            }))
        }
        None => {
            tracing::info!("no server.ops_addr: /metrics is not served");
            None
        }
    };
    let app = web::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;

    jobs.stop();
    // Monitoring sees the node until the public port has drained, then nothing.
    if let Some(task) = ops_server {
        task.abort();
    }
    crate::jobs::view_flusher::flush_remaining(&state).await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
