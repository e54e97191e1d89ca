//! `broadsheet generate`: fill an empty data directory with a synthetic newsroom for benchmarks.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::generate::{self, Options, Progress};

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// How many articles to write.
    #[arg(long, default_value_t = 10_000)]
    pub articles: usize,
    /// Folder for the new database; it must not hold articles yet.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Seed for the generator; the same seed gives the same newsroom.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Write into this PostgreSQL database (`postgres://…`) instead of SQLite in the data folder.
    #[arg(long, env = "BROADSHEET__DATABASE__URL")]
    pub database_url: Option<String>,
}

pub async fn run(args: GenerateArgs) -> anyhow::Result<()> {
    let mut settings = crate::config::Settings::default();
    settings.server.data_dir = args.data_dir.clone();
    settings.database.url = args.database_url.clone();
    let bar = ProgressBar::new(args.articles as u64);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} articles ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let options = Options { articles: args.articles, seed: args.seed, batch: 1000 };
    let started = std::time::Instant::now();
    let summary = generate::generate_into(&settings, &options, |progress| match progress {
        Progress::Written(done) => bar.set_position(done as u64),
        Progress::Finishing => bar.println("indexing and syncing the new database..."),
    })
    .await
    .with_context(|| format!("generating into {}", args.data_dir.display()))?;
    bar.finish();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "generated {} articles, {} authors, {} tags, {} comments, {} views in {:.1} s ({:.0} articles/s)",
        summary.articles,
        summary.authors,
        summary.tags,
        summary.comments,
        summary.views,
        seconds,
        summary.articles as f64 / seconds.max(1e-9)
    );
    Ok(())
}
