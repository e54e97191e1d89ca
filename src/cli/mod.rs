//! The command line: one subcommand per file, each with its options and a `run`.

pub mod generate;
pub mod serve;
pub mod user;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "broadsheet", version, about = "A self-hosted news publishing platform")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the news site.
    Serve(serve::ServeArgs),
    /// Fill an empty data directory with a synthetic newsroom, for benchmarks.
    Generate(generate::GenerateArgs),
    /// Manage newsroom accounts.
    User(user::UserArgs),
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Generate(args) => generate::run(args).await,
            Command::User(args) => user::run(args).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
