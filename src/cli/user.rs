//! `broadsheet user …`: newsroom accounts from the command line (the first administrator, scripts,
//! and recovery when nobody can sign in).

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use chrono::Utc;
use clap::{Args, Subcommand};

use crate::auth::password::{NewPassword, hash_password};
use crate::config::Settings;
use crate::domain::{Email, Role, user::parse_person_name};
use crate::newsroom::people::LinkToken;
use crate::store::Store;
use crate::store::newsroom::{NewAuditEntry, NewUser};

#[derive(Debug, Args)]
pub struct UserArgs {
    /// Folder of the database [default: ./data].
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// A settings file (see broadsheet.example.toml).
    #[arg(long, env = "BROADSHEET_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// The PostgreSQL database the site uses (`postgres://…`), if not the embedded SQLite one.
    #[arg(long, env = "BROADSHEET__DATABASE__URL", global = true)]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: UserCommand,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a newsroom account. Asks for a password on the terminal, reads it from standard input
    /// with --password-stdin, or prints a one-time set-password link with --link.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// contributor, author, editor or admin.
        #[arg(long)]
        role: String,
        /// Read the password from the first line of standard input.
        #[arg(long, conflicts_with = "link")]
        password_stdin: bool,
        /// Print a one-time link with which the person sets their own password.
        #[arg(long)]
        link: bool,
    },
    /// List accounts.
    List,
    /// Change an account's role.
    SetRole {
        #[arg(long)]
        email: String,
        #[arg(long)]
        role: String,
    },
    /// Disable an account and end its sessions (or enable it again with --enable).
    Disable {
        #[arg(long)]
        email: String,
        #[arg(long)]
        enable: bool,
    },
}

fn parse_role(value: &str) -> anyhow::Result<Role> {
    Role::parse(value).with_context(|| format!("unknown role {value:?}: use contributor, author, editor or admin"))
}

fn read_password(from_stdin: bool) -> anyhow::Result<NewPassword> {
    let text = if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    } else if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password (at least 12 characters): ")?;
        let second = rpassword::prompt_password("The same password again: ")?;
        if first != second {
            bail!("the two passwords are not the same");
        }
        first
    } else {
        bail!("no terminal to ask for a password on: use --password-stdin or --link");
    };
    NewPassword::parse(&text).map_err(|e| anyhow::anyhow!("{e}"))
}

async fn open(args: &UserArgs) -> anyhow::Result<(Settings, Arc<dyn Store>)> {
    let mut settings = Settings::load(args.config.as_deref()).context("reading settings")?;
    if let Some(dir) = &args.data_dir {
        settings.server.data_dir = dir.clone();
    }
    if let Some(url) = &args.database_url {
        settings.database.url = Some(url.clone());
    }
    let store = crate::store::open(&settings).await.context("opening the database")?;
    Ok((settings, store))
}

async fn find(store: &dyn Store, email: &str) -> anyhow::Result<crate::domain::User> {
    let email = email.trim().to_lowercase();
    Ok(store.credentials_by_email(&email).await?.with_context(|| format!("no account with email {email}"))?.user)
}

/// The audit line of a change made on the command line: no member made it, and the detail says so.
fn command_line_audit(action: &str, user: Option<crate::domain::UserId>, detail: String) -> NewAuditEntry {
    NewAuditEntry::new(None, action, "user", user.map(|u| u.0), detail, Utc::now())
}

pub async fn run(args: UserArgs) -> anyhow::Result<()> {
    let (settings, store) = open(&args).await?;
    match args.command {
        UserCommand::Add { email, name, role, password_stdin, link } => {
            let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("email: {e}"))?;
            let name = parse_person_name(&name).map_err(|e| anyhow::anyhow!("name: {e}"))?;
            let role = parse_role(&role)?;
            let password_hash = if link {
                None
            } else {
                let password = read_password(password_stdin)?;
                Some(hash_password(password.as_str()).map_err(|e| anyhow::anyhow!("{e}"))?)
            };
            let new_user =
                NewUser { email: email.as_str().to_lowercase(), name, role, password_hash, created_at: Utc::now() };
            let detail = format!("{} as {} (command line)", new_user.email, role.as_str());
            let line = command_line_audit("user_added", None, detail);
            if link {
                // The account, its link and the audit line are one write.
                let hours = settings.newsroom.password_link_hours;
                let (token, expires) =
                    LinkToken::new(hours, new_user.created_at).map_err(|e| anyhow::anyhow!("{e}"))?;
                let user =
                    store.invite_user(new_user, &token.hash(), expires, &line).await.context("adding the account")?;
                println!("Added {} <{}> as {}.", user.name, user.email, role.label());
                println!("Set-password link (works once, for {hours} hours): {}", token.address(&settings.base_url()));
            } else {
                let user = store.insert_user(new_user, &line).await.context("adding the account")?;
                println!("Added {} <{}> as {}.", user.name, user.email, role.label());
            }
        }
        UserCommand::List => {
            for user in store.users().await? {
                let state = if user.disabled {
                    "disabled"
                } else if user.has_password {
                    "active"
                } else {
                    "invited"
                };
                println!("{:<32} {:<12} {:<9} {}", user.email, user.role.as_str(), state, user.name);
            }
        }
        UserCommand::SetRole { email, role } => {
            let user = find(store.as_ref(), &email).await?;
            let role = parse_role(&role)?;
            let detail = format!("{} → {} (command line)", user.role.as_str(), role.as_str());
            store.set_user_role(user.id, role, &command_line_audit("user_role_changed", Some(user.id), detail)).await?;
            println!("{} is now {}.", user.email, role.label());
        }
        UserCommand::Disable { email, enable } => {
            let user = find(store.as_ref(), &email).await?;
            let action = if enable { "user_enabled" } else { "user_disabled" };
            let line = command_line_audit(action, Some(user.id), format!("{} (command line)", user.email));
            store.set_user_disabled(user.id, !enable, Utc::now(), &line).await?;
            println!("{} is {}.", user.email, if enable { "enabled" } else { "disabled; their sessions have ended" });
        }
    }
    Ok(())
}
