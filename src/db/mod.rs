//! The database: one Diesel connection type over SQLite and PostgreSQL, an r2d2 pool,
//! embedded migrations, and `Db::run`, which does a request's database work in one
//! hop off the async threads.

use std::sync::{mpsc, Arc};
use std::time::Duration;

use anyhow::Context as _;
use diesel::connection::SimpleConnection;
use diesel::r2d2::{self, ManageConnection, Pool, PooledConnection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::ApiError;

mod shared;
use shared::Shared;
pub use shared::SharedConn;

/// Both backends behind one type, so every typed query is written once.
#[derive(diesel::MultiConnection)]
pub enum Conn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// Runs one typed query on the connection's own backend instead of through the
/// derived `MultiConnection`, which writes out the SQL text of every query each
/// time it runs it, even when the statement is cached: a fifth of a one-row read.
/// The query is still written once (`|c| query.load(c)`), compiled for each backend.
macro_rules! native {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::Conn::Pg($c) => $body,
            $crate::db::Conn::Sqlite($c) => $body,
        }
    };
}
pub(crate) use native;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Any key will do, as long as every Hearth instance uses the same one.
const MIGRATION_LOCK_KEY: i64 = 0x4845_4152_5448;

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

/// A pooled connection, and whether a query found it lost (a restarted PostgreSQL):
/// then the pool drops it instead of lending it again. This replaces a `SELECT 1`
/// before every check-out, a round trip that cost a third of a one-row read.
pub struct Pooled {
    conn: Conn,
    lost: bool,
}

impl std::ops::Deref for Pooled {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

impl Pooled {
    /// Runs `work`, noting an error that means the connection itself is gone.
    fn run<R>(
        &mut self,
        work: impl FnOnce(&mut Conn) -> Result<R, ApiError>,
    ) -> Result<R, ApiError> {
        let result = work(&mut self.conn);
        if matches!(result, Err(ApiError::Unavailable(_))) {
            self.lost = true;
        }
        result
    }
}

/// Opens connections of the right variant and says why when it cannot (Diesel's
/// derived `establish` tries each variant and keeps none of their errors).
#[derive(Debug)]
pub struct Manager {
    target: Target,
}

/// Settings of every PostgreSQL session that runs Hearth's queries, pooled or shared.
/// Generic plans: with `LIMIT $n OFFSET $m` PostgreSQL's default keeps planning each
/// page query afresh (an unknown offset makes the cached plan look dearer than it
/// is), which was a quarter of its CPU on a list; the cached plan is the same index
/// scan. Every Hearth query is a key lookup or an indexed page, whose plan does not
/// hinge on the values bound.
const PG_SESSION: &str = "SET plan_cache_mode = force_generic_plan";

impl Manager {
    fn open(&self) -> Result<Conn, r2d2::Error> {
        match &self.target {
            Target::Postgres(url) => {
                let mut conn =
                    PgConnection::establish(url).map_err(r2d2::Error::ConnectionError)?;
                // Hearth announces its own new messages (`messages::live`); the
                // table's trigger then stays quiet for these sessions.
                conn.batch_execute(&format!("SET hearth.announces = on; {PG_SESSION}"))
                    .map_err(r2d2::Error::QueryError)?;
                Ok(Conn::Pg(conn))
            }
            Target::Sqlite(path) => {
                let mut conn =
                    SqliteConnection::establish(path).map_err(r2d2::Error::ConnectionError)?;
                conn.batch_execute(
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; \
                     PRAGMA busy_timeout=5000;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(Conn::Sqlite(conn))
            }
        }
    }
}

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Pooled, r2d2::Error> {
        Ok(Pooled {
            conn: self.open()?,
            lost: false,
        })
    }

    fn is_valid(&self, conn: &mut Pooled) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut Pooled) -> bool {
        conn.lost
    }
}

#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
    backend: Backend,
    /// PostgreSQL: the connections that reads share (`Db::read_shared`).
    shared: Option<Arc<Shared>>,
    /// SQLite: dropped with the last `Db`, which ends the checkpointer.
    _checkpointer: Option<Arc<mpsc::Sender<()>>>,
}

/// How often the checkpointer looks at SQLite's write-ahead log, and the size
/// above which it empties it.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);
const WAL_LIMIT: u64 = 16 << 20;
const CHECKPOINT_WAIT: Duration = Duration::from_millis(50);

/// Keeps SQLite's write-ahead log from growing without end. SQLite's own automatic
/// checkpoints copy the log into the database but start it afresh only at a moment
/// when no reader is in it, which under steady load never comes: the log grew by
/// 200 MB a second while posting, past 2.5 GB in 15 s, and posts slowed by half. A
/// `TRUNCATE` checkpoint waits for the readers of the moment, holds new writers
/// back for that long, and empties the file. It waits `CHECKPOINT_WAIT` at most,
/// so a long reader (a backup, another program) costs writers that much per try,
/// not a failure.
fn start_checkpointer(path: &str) -> anyhow::Result<mpsc::Sender<()>> {
    let mut conn = SqliteConnection::establish(path)?;
    conn.batch_execute(&format!(
        "PRAGMA busy_timeout={};",
        CHECKPOINT_WAIT.as_millis()
    ))?;
    let wal = format!("{path}-wal");
    let (alive, stop) = mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("hearth-checkpoint".into())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
                let large = std::fs::metadata(&wal).is_ok_and(|m| m.len() > WAL_LIMIT);
                if large {
                    // busy while a long reader lasts: tried again next time
                    if let Err(err) = conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);") {
                        tracing::debug!(error = %err, "cannot checkpoint the SQLite log yet");
                    }
                }
            }
        })?;
    Ok(alive)
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Db {
    /// A pool of `size` connections; fails at once when the database is unreachable.
    pub fn connect(url: &str, size: u32) -> anyhow::Result<Self> {
        let target = Target::parse(url)?;
        let backend = target.backend();
        let (sqlite_path, shared) = match &target {
            Target::Sqlite(path) => (Some(path.clone()), None),
            Target::Postgres(url) => (None, Some(Shared::new(url))),
        };
        let pool = Pool::builder()
            .max_size(size)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(5))
            // see `Pooled`: a lost connection is dropped when it comes back
            .test_on_check_out(false)
            .build(Manager { target })
            .with_context(|| format!("cannot open the database at {}", redact(url)))?;
        // after the pool, which made the file and put it in WAL mode
        let checkpointer = sqlite_path
            .map(|path| start_checkpointer(&path).map(Arc::new))
            .transpose()?;
        Ok(Self {
            pool,
            backend,
            shared,
            _checkpointer: checkpointer,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A pooled connection for blocking code (the command line, migrations).
    pub fn get(&self) -> Result<PooledConnection<Manager>, ApiError> {
        self.pool.get().map_err(|e| ApiError::Unavailable(e.into()))
    }

    /// Connections in use and idle, for metrics.
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (
            state.connections - state.idle_connections,
            state.idle_connections,
        )
    }

    /// Runs `work` on a pooled connection on the blocking pool: one hop per request.
    pub async fn run<R, F>(&self, work: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<R, ApiError> + Send + 'static,
    {
        let db = self.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            db.get()?.run(work)
        })
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("database task failed: {e}")))?
    }

    /// Runs read-only `work`. On SQLite, when a connection is idle, it runs right
    /// here: a read from a local file takes microseconds and never waits on a lock
    /// (WAL), and handing it to another thread cost a quarter of the throughput of
    /// a list in the benchmark. Otherwise, and always on PostgreSQL (a network round
    /// trip), it goes to the blocking pool like [`Db::run`].
    pub async fn read<R, F>(&self, work: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<R, ApiError> + Send + 'static,
    {
        if self.backend == Backend::Sqlite {
            if let Some(mut conn) = self.pool.try_get() {
                return conn.run(work);
            }
        }
        self.run(work).await
    }

    /// Opens the connections that PostgreSQL reads share (at start).
    pub async fn open_shared(&self) {
        if let Some(readers) = &self.shared {
            readers.open_all().await;
        }
    }

    /// A read of one statement that PostgreSQL serves on a connection the requests
    /// share (`shared`, see `db::shared`), and SQLite the way of [`Db::read`]
    /// (`work`). Both run the same typed query; `work` also serves PostgreSQL when
    /// its shared connection is not open, when the query failed there, or when
    /// `shared` answers `None` (a case it leaves to `work`, such as a refusal that
    /// `work` explains).
    pub async fn read_shared<R, Fut, F>(
        &self,
        shared: impl FnOnce(SharedConn) -> Fut,
        work: F,
    ) -> Result<R, ApiError>
    where
        Fut: std::future::Future<Output = diesel::QueryResult<Option<R>>>,
        R: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<R, ApiError> + Send + 'static,
    {
        if let Some(readers) = &self.shared {
            if let Some(ticket) = readers.take() {
                if let Some(Some(rows)) = readers.run(ticket, shared).await {
                    return Ok(rows);
                }
            }
        }
        self.read(work).await
    }

    /// Applies pending migrations. On PostgreSQL an advisory lock makes instances
    /// that start together take turns; the second finds nothing left to do.
    pub fn migrate(&self) -> anyhow::Result<usize> {
        let mut conn = self.pool.get().context("cannot reach the database")?;
        let applied = match &mut **conn {
            Conn::Sqlite(c) => c
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map_err(|e| anyhow::anyhow!(e))?
                .len(),
            Conn::Pg(c) => {
                c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
                let result = c
                    .run_pending_migrations(PG_MIGRATIONS)
                    .map(|v| v.len())
                    .map_err(|e| anyhow::anyhow!(e));
                c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
                result?
            }
        };
        Ok(applied)
    }

    /// True when no migration is pending (for `/readyz`).
    pub fn is_migrated(&self) -> anyhow::Result<bool> {
        let mut conn = self.pool.get().context("cannot reach the database")?;
        let pending = match &mut **conn {
            Conn::Sqlite(c) => c.pending_migrations(SQLITE_MIGRATIONS).map(|p| p.len()),
            Conn::Pg(c) => c.pending_migrations(PG_MIGRATIONS).map(|p| p.len()),
        };
        // the probe of `/readyz`: any failure may mean a lost connection
        conn.lost |= pending.is_err();
        Ok(pending.map_err(|e| anyhow::anyhow!(e))? == 0)
    }
}

/// A connection of Hearth's own beside the pool (the live updates' listener and
/// notifier, the shared readers), named for `pg_stat_activity`.
pub(crate) fn pg_config(url: &str, name: &str) -> anyhow::Result<tokio_postgres::Config> {
    let mut config: tokio_postgres::Config = url.parse()?;
    // a peer that vanished without a word is noticed within a minute or so
    config
        .application_name(name)
        .connect_timeout(Duration::from_secs(5))
        .keepalives_idle(Duration::from_secs(30))
        .keepalives_interval(Duration::from_secs(10))
        .keepalives_retries(3);
    Ok(config)
}

/// A page whose rows each carry the total (a `COUNT(*)` subquery in the page's own
/// query: one statement and, on PostgreSQL, one round trip instead of two). A page
/// past the end has no row to carry it; then `count` asks.
pub fn with_total<T>(
    rows: Vec<(T, Option<i64>)>,
    offset: i64,
    count: impl FnOnce() -> Result<i64, ApiError>,
) -> Result<(Vec<T>, i64), ApiError> {
    let total = match carried_total(&rows, offset) {
        Some(total) => total,
        None => count()?,
    };
    Ok((rows.into_iter().map(|(row, _)| row).collect(), total))
}

/// The total that a page's rows carry; `None` for a page past the end.
pub fn carried_total<T>(rows: &[(T, Option<i64>)], offset: i64) -> Option<i64> {
    match rows.first() {
        Some((_, total)) => Some(total.unwrap_or_default()),
        None if offset > 0 => None,
        None => Some(0),
    }
}

/// [`with_total`] for rows that also carry the verdict on the caller
/// (`auth::logins::standing!`): the first row's, `None` when there is no row.
pub fn with_verdict<T>(
    rows: Vec<((T, bool), Option<i64>)>,
    offset: i64,
    count: impl FnOnce() -> Result<i64, ApiError>,
) -> Result<(Vec<T>, i64, Option<bool>), ApiError> {
    let verdict = rows.first().map(|((_, ok), _)| *ok);
    let (rows, total) = with_total(rows, offset, count)?;
    Ok((
        rows.into_iter().map(|(row, _)| row).collect(),
        total,
        verdict,
    ))
}

/// [`with_verdict`] on a shared connection: the page and its total when the rows
/// confirm the caller (or `settled`: nothing was to confirm) and carry the total.
/// `None` leaves the request to the pooled way, which says why the caller is
/// refused, or counts for a page past the end.
pub fn confirmed<T>(
    rows: Vec<((T, bool), Option<i64>)>,
    offset: i64,
    settled: bool,
) -> Option<(Vec<T>, i64)> {
    let confirmed = settled || rows.first().is_some_and(|((_, ok), _)| *ok);
    let total = carried_total(&rows, offset).filter(|_| confirmed)?;
    Some((rows.into_iter().map(|((row, _), _)| row).collect(), total))
}

/// Tells a unique-constraint violation apart, on either backend.
pub trait DieselErrorExt {
    fn is_unique_violation(&self) -> bool;
}

impl DieselErrorExt for DieselError {
    fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
        )
    }
}

/// `DieselError::NotFound` as `None`, any other error kept.
pub trait OptionalExt<T> {
    fn found(self) -> Result<Option<T>, ApiError>;
}

impl<T> OptionalExt<T> for Result<T, DieselError> {
    fn found(self) -> Result<Option<T>, ApiError> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(DieselError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
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
