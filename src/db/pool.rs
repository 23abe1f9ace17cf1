//! The pool's connections: how they are opened and set up, and how a lost one is
//! noticed.

use std::time::Duration;

use diesel::connection::{SimpleConnection, TransactionManager};
use diesel::r2d2::{self, ManageConnection};
use diesel::{Connection, PgConnection, SqliteConnection};

use super::{Conn, PgUrl};
use crate::error::ApiError;

/// A pooled connection, and whether a query found it lost (a restarted PostgreSQL):
/// then the pool drops it instead of lending it again. This replaces a `SELECT 1`
/// before every check-out, a round trip that cost a third of a one-row read.
pub struct Pooled {
    conn: Conn,
    pub(super) lost: bool,
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
    pub(super) fn run<R>(
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
pub enum Manager {
    /// The file's path.
    Sqlite(String),
    /// The URL as libpq takes it, and the session's settings.
    Postgres(PgUrl, String),
}

/// Settings of every PostgreSQL session that runs Hearth's queries, pooled or shared.
/// Generic plans: with `LIMIT $n OFFSET $m` PostgreSQL's default keeps planning each
/// page query afresh (an unknown offset makes the cached plan look dearer than it
/// is), which was a quarter of its CPU on a list; the cached plan is the same index
/// scan. Every Hearth query is a key lookup or an indexed page, whose plan does not
/// hinge on the values bound.
/// A statement still running when its request has given up is cancelled.
pub(super) fn pg_session(timeout: Duration) -> String {
    format!(
        "SET plan_cache_mode = force_generic_plan; SET statement_timeout = {}",
        timeout.as_millis()
    )
}

/// Settings of every SQLite connection that runs Hearth's queries, pooled or the
/// writer's.
pub(super) const SQLITE_SESSION: &str = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; \
     PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;";

/// A SQLite connection with [`SQLITE_SESSION`]'s settings, pooled or a thread's own.
pub(super) fn open_sqlite(path: &str) -> Result<SqliteConnection, r2d2::Error> {
    let mut conn = SqliteConnection::establish(path).map_err(r2d2::Error::ConnectionError)?;
    conn.batch_execute(SQLITE_SESSION)
        .map_err(r2d2::Error::QueryError)?;
    Ok(conn)
}

impl Manager {
    fn open(&self) -> Result<Conn, r2d2::Error> {
        match self {
            Self::Postgres(url, session) => {
                let mut conn =
                    PgConnection::establish(&url.libpq).map_err(r2d2::Error::ConnectionError)?;
                // Hearth announces its own new messages (`messages::live`); the
                // table's trigger then stays quiet for these sessions.
                conn.batch_execute(&format!("SET hearth.announces = on; {session}"))
                    .map_err(r2d2::Error::QueryError)?;
                Ok(Conn::Pg(conn))
            }
            Self::Sqlite(path) => open_sqlite(path).map(Conn::Sqlite),
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
        // an open or failed transaction must not be lent again either
        conn.lost
            || <Conn as Connection>::TransactionManager::is_broken_transaction_manager(
                &mut conn.conn,
            )
    }
}
