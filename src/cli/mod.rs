//! The command line: `serve`, `migrate`, `check`, and the user commands of Django's
//! manage.py (`createsuperuser`, `changepassword`, `drf_create_token`).
//!
//! Every command but `serve` is synchronous: it opens a one-connection pool, applies
//! pending migrations (so it works on a fresh database) and does its work. Errors
//! come back to `main` and are printed as one `hearth: ...` line.

mod check;
mod serve;
mod users;

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use diesel::r2d2::PooledConnection;

use crate::config::Settings;
use crate::db::{Db, Manager};
use crate::error::ApiError;

#[derive(Debug, Parser)]
#[command(
    name = "hearth",
    version,
    about = "The Django tutorials' backend as one binary"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations, then serve HTTP.
    Serve {
        /// Address to listen on (default: HEARTH_ADDR, else 127.0.0.1:8000).
        #[arg(long)]
        addr: Option<String>,
    },
    /// Apply pending migrations and exit.
    Migrate,
    /// Create a staff superuser. The password comes from HEARTH_SUPERUSER_PASSWORD,
    /// else from a prompt.
    Createsuperuser {
        #[arg(long)]
        username: String,
        #[arg(long, default_value = "")]
        email: String,
        /// Never prompt: fail when HEARTH_SUPERUSER_PASSWORD is not set.
        #[arg(long)]
        noinput: bool,
    },
    /// Set a user's password (from a prompt, or HEARTH_NEW_PASSWORD) and end every
    /// login of that user.
    Changepassword { username: String },
    /// Print the user's DRF token key, creating it on first use.
    #[command(alias = "drf_create_token")]
    DrfCreateToken {
        username: String,
        /// Replace the user's key with a new one.
        #[arg(short, long)]
        reset: bool,
    },
    /// Inspect the settings for problems.
    Check {
        /// Also warn about settings unsafe in production.
        #[arg(long)]
        deploy: bool,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("hearth: {}", one_line(&format!("{err:#}")));
            ExitCode::FAILURE
        }
    }
}

/// Errors from libpq span several lines; an operator's log wants one.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load()?;
    match cli.command {
        Command::Serve { addr } => serve::serve(settings, addr),
        Command::Migrate => serve::migrate(&settings),
        Command::Createsuperuser {
            username,
            email,
            noinput,
        } => users::createsuperuser(&settings, &username, &email, !noinput),
        Command::Changepassword { username } => users::changepassword(&settings, &username),
        Command::DrfCreateToken { username, reset } => {
            users::drf_create_token(&settings, &username, reset)
        }
        Command::Check { deploy } => {
            check::check(&settings, deploy);
            Ok(())
        }
    }
}

/// A one-connection pool on a migrated database, for a management command.
fn open_db(settings: &Settings) -> anyhow::Result<Db> {
    let db = Db::connect(&settings.database_url, 1)?;
    db.migrate()?;
    Ok(db)
}

fn connection(db: &Db) -> anyhow::Result<PooledConnection<Manager>> {
    db.get().map_err(cause).context("cannot reach the database")
}

/// The underlying cause of a query's error, for a one-line message.
fn cause(err: ApiError) -> anyhow::Error {
    match err {
        ApiError::Internal(e) | ApiError::Unavailable(e) => e,
        other => anyhow::Error::new(other),
    }
}
