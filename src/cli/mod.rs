//! The command line: `serve`, `migrate`, `check`, the user commands of Django's
//! manage.py (`createsuperuser`, `changepassword`, `drf_create_token`), and the
//! moves from and to Django (`import-django`, `dumpdata`, `loaddata`).
//!
//! Every command but `serve` is synchronous: it opens a one-connection pool, applies
//! pending migrations (so it works on a fresh database) and does its work. Errors
//! come back to `main` and are printed as one `hearth: ...` line.

mod check;
mod ops;
mod serve;
mod users;

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use diesel::r2d2::PooledConnection;

use crate::config::{vars, Settings};
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
        #[arg(long, help = format!(
            "Address to listen on (default: HEARTH_ADDR, else 0.0.0.0:$PORT, else {})",
            vars::HEARTH_ADDR.default.unwrap_or_default()
        ))]
        addr: Option<String>,
        /// Also serve this built frontend, with `index.html` for client-side
        /// routes (default: STATIC_DIR).
        #[arg(long = "static", value_name = "DIR")]
        static_dir: Option<std::path::PathBuf>,
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
    /// Import a Django project's database: users (password hashes kept), DRF
    /// tokens, simplejwt's outstanding and blacklisted tokens, sessions and the
    /// tutorials' data, in one transaction.
    ImportDjango {
        /// The Django database: sqlite:///path/to/db.sqlite3 or postgres://...
        #[arg(long = "from", value_name = "URL")]
        from: String,
        /// When Hearth's database is not empty: on a clash keep Hearth's rows, or
        /// replace them with Django's. Without it, Hearth's database must be empty.
        #[arg(long, value_enum)]
        merge: Option<crate::django::Merge>,
        /// Report what would be imported; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// The Django project's SECRET_KEY, which signed its sessions (default:
        /// Hearth's own, which must be Django's for its JWTs to keep working).
        #[arg(long, env = "DJANGO_SECRET_KEY", hide_env_values = true)]
        django_secret_key: Option<String>,
    },
    /// Print Hearth's data as a Django JSON fixture: every model, or those named
    /// (`auth`, `music.song`, ...), for `manage.py loaddata`.
    Dumpdata {
        models: Vec<String>,
        /// Indent the JSON by this many spaces.
        #[arg(long)]
        indent: Option<usize>,
        /// Write to this file instead of stdout.
        #[arg(short, long)]
        output: Option<std::path::PathBuf>,
    },
    /// Load a Django JSON fixture (from `manage.py dumpdata`); objects whose id
    /// Hearth has already are replaced, as Django's loaddata does.
    Loaddata { file: std::path::PathBuf },
    /// Inspect the settings for problems.
    Check {
        /// Also warn about settings unsafe in production.
        #[arg(long)]
        deploy: bool,
    },
    /// Copy a live SQLite database to FILE (consistent while Hearth serves).
    Backup { file: std::path::PathBuf },
    /// Exit 0 when the server on this machine answers /healthz (a container's
    /// HEALTHCHECK, which needs no shell tools).
    Healthcheck {
        /// The server's address (default: HEARTH_ADDR or PORT, as `serve` reads them).
        #[arg(long)]
        addr: Option<String>,
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
    let mut settings = Settings::load()?;
    match cli.command {
        Command::Serve { addr, static_dir } => {
            if static_dir.is_some() {
                settings.static_dir = static_dir;
            }
            if let Some(dir) = &settings.static_dir {
                crate::frontend::check_dir(dir)?;
            }
            serve::serve(settings, addr)
        }
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
        Command::ImportDjango {
            from,
            merge,
            dry_run,
            django_secret_key,
        } => {
            let db = open_db(&settings)?;
            let mut conn = connection(&db)?;
            let report = crate::django::import(
                &settings,
                &mut conn,
                &from,
                merge,
                dry_run,
                django_secret_key.as_deref(),
            )?;
            print!("{report}");
            Ok(())
        }
        Command::Dumpdata {
            models,
            indent,
            output,
        } => {
            let db = open_db(&settings)?;
            let mut conn = connection(&db)?;
            crate::django::dumpdata(&settings, &mut conn, &models, indent, output.as_deref())
        }
        Command::Loaddata { file } => {
            let db = open_db(&settings)?;
            let mut conn = connection(&db)?;
            print!("{}", crate::django::loaddata(&settings, &mut conn, &file)?);
            Ok(())
        }
        Command::Backup { file } => ops::backup(&settings, &file),
        Command::Healthcheck { addr } => ops::healthcheck(&settings, addr.as_deref()),
        Command::Check { deploy } => {
            check::check(&settings, deploy);
            Ok(())
        }
    }
}

/// A one-connection pool on a migrated database, for a management command.
fn open_db(settings: &Settings) -> anyhow::Result<Db> {
    let db = Db::connect_with(&settings.database_url, 1, settings.database_timeout)?;
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
