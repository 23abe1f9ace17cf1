//! The database: one Diesel connection type over SQLite and PostgreSQL, an r2d2 pool
//! (`pool`), embedded migrations (`migrate`), and the verbs by which a request
//! reaches it (`verbs`): `load`, `first` and `page` for one read statement, `read`
//! and `run` for a closure, `insert` for one table's row. What differs between the
//! two lives in each one's engine: on SQLite (`sqlite`) every write goes through
//! one thread that commits those queued together in one transaction; on
//! PostgreSQL (`postgres`) reads share a few connections and inserts into one
//! table that arrive together go out as one statement.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use diesel::r2d2::{Pool, PooledConnection};

use crate::error::ApiError;

mod conn;
pub mod counts;
mod errors;
mod inserts;
mod migrate;
mod pool;
mod postgres;
mod sqlite;
mod verbs;
use conn::native;
pub use conn::{Conn, MultiBackend, Query};
pub use errors::{DieselErrorExt, OptionalExt};
pub use inserts::Inserts;
pub use pool::{Manager, Pooled};
pub use postgres::{PgUrl, TlsMode};
pub use verbs::{inside_run, Paged, Shown, Statement};

/// How long a request waits on PostgreSQL (connecting, a pooled connection, a
/// statement) before it is answered 503, unless the settings say otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(4);

/// Half this machine's cores, at least one: what Hearth keeps for itself when
/// PostgreSQL runs beside it.
pub fn half_the_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the data lives, parsed from `DATABASE_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Sqlite(String),
    Postgres(String),
}

impl Target {
    /// `sqlite://hearth.db` (relative), `sqlite:///abs/path.db`, `postgres://...`.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .with_context(|| {
                format!(
                    "DATABASE_URL must start with sqlite:// or postgres:// (got {})",
                    redact(url)
                )
            })?;
        anyhow::ensure!(!path.is_empty(), "DATABASE_URL names no SQLite file");
        Ok(Self::Sqlite(path.to_owned()))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }
}

/// The URL with any password replaced, for logs and errors.
pub fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        if let Some((creds, host)) = rest.split_once('@') {
            if let Some((user, _)) = creds.split_once(':') {
                return format!("{scheme}://{user}:***@{host}");
            }
        }
    }
    url.to_owned()
}

/// The database, shared by every request: clones are the same pool and engine.
#[derive(Clone)]
pub struct Db(Arc<Inner>);

struct Inner {
    pool: Pool<Manager>,
    engine: Engine,
}

/// What each backend does its own way; decided once, when the database is opened.
enum Engine {
    Sqlite(sqlite::Engine),
    Postgres(postgres::Engine),
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

impl Db {
    /// A pool of `size` connections; fails at once when the database is unreachable.
    pub fn connect(url: &str, size: u32) -> anyhow::Result<Self> {
        Self::connect_with(url, size, DEFAULT_TIMEOUT)
    }

    /// [`Db::connect`] with the longest a request waits on PostgreSQL.
    pub fn connect_with(url: &str, size: u32, timeout: Duration) -> anyhow::Result<Self> {
        // SQLite's engine starts once the pool has made the file, in WAL mode
        type Start = Box<dyn FnOnce() -> anyhow::Result<Engine>>;
        let (manager, start): (Manager, Start) = match Target::parse(url)? {
            Target::Postgres(url) => {
                let pg = PgUrl::parse(&url, timeout)?;
                let manager = Manager::Postgres(pg.clone(), pool::pg_session(timeout));
                let engine = Engine::Postgres(postgres::Engine::new(pg));
                (manager, Box::new(move || Ok(engine)))
            }
            Target::Sqlite(path) => (
                Manager::Sqlite(path.clone()),
                Box::new(move || Ok(Engine::Sqlite(sqlite::Engine::start(&path)?))),
            ),
        };
        let pool = Pool::builder()
            .max_size(size)
            .min_idle(Some(1))
            .connection_timeout(timeout)
            // see `Pooled`: a lost connection is dropped when it comes back
            .test_on_check_out(false)
            .build(manager)
            .with_context(|| format!("cannot open the database at {}", redact(url)))?;
        let engine = start()?;
        Ok(Self(Arc::new(Inner { pool, engine })))
    }

    /// PostgreSQL: how Hearth's own connections reach it.
    pub fn pg(&self) -> Option<&PgUrl> {
        match &self.0.engine {
            Engine::Sqlite(_) => None,
            Engine::Postgres(pg) => Some(&pg.url),
        }
    }

    pub fn backend(&self) -> Backend {
        match &self.0.engine {
            Engine::Sqlite(_) => Backend::Sqlite,
            Engine::Postgres(_) => Backend::Postgres,
        }
    }

    /// A pooled connection for blocking code (the command line, migrations).
    pub fn get(&self) -> Result<PooledConnection<Manager>, ApiError> {
        self.0
            .pool
            .get()
            .map_err(|e| ApiError::Unavailable(e.into()))
    }

    /// Connections in use and idle, for metrics.
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.0.pool.state();
        (
            state.connections - state.idle_connections,
            state.idle_connections,
        )
    }

    /// True when PostgreSQL runs on this machine, on the cores Hearth runs on.
    pub fn shares_cores(&self) -> bool {
        self.pg().is_some_and(PgUrl::on_this_machine)
    }

    /// PostgreSQL: how many connections the reads share.
    pub fn shared_connections(&self) -> usize {
        match &self.0.engine {
            Engine::Sqlite(_) => 0,
            Engine::Postgres(pg) => pg.shared.connections(),
        }
    }

    /// Opens the connections that PostgreSQL reads share (at start).
    pub async fn open_shared(&self) {
        if let Engine::Postgres(pg) = &self.0.engine {
            pg.shared.open_all().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_database_urls() {
        assert_eq!(
            Target::parse("sqlite://hearth.db").unwrap(),
            Target::Sqlite("hearth.db".into())
        );
        assert_eq!(
            Target::parse("sqlite:///tmp/x.db").unwrap(),
            Target::Sqlite("/tmp/x.db".into())
        );
        assert!(matches!(
            Target::parse("postgres://u@h/db").unwrap(),
            Target::Postgres(_)
        ));
        assert!(Target::parse("mysql://x").is_err());
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
