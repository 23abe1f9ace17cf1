//! How a request reaches the database. One read statement is a value (a typed
//! query built by a function of the domain's `queries`, not yet run) handed to
//! [`Db::load`], [`Db::first`] or [`Db::page`], which choose the path: on
//! PostgreSQL a connection the requests share (`postgres::shared`), falling back to
//! the pool; on SQLite the thread's own connection (`sqlite::local`), else the
//! pool. Anything else is a closure: [`Db::read`] for reads, on a pooled
//! connection; [`Db::run`] for writes, on SQLite's writer thread
//! (`sqlite::writer`) or a pooled PostgreSQL connection. Each verb decides the
//! backend once, by the engine's variant.

use diesel::query_dsl::methods::LoadQuery;
use diesel::{PgConnection, RunQueryDsl, SqliteConnection};
use diesel_async::AsyncPgConnection;

use super::{native, Conn, Db, Engine, Inserts};
use crate::error::ApiError;

/// A read statement that runs the same way on every path: a pooled connection of
/// either backend, and PostgreSQL's shared connections. Diesel's typed queries
/// whose binds are owned are all of these.
pub trait Statement<U>:
    RunQueryDsl<PgConnection>
    + RunQueryDsl<SqliteConnection>
    + LoadQuery<'static, PgConnection, U>
    + LoadQuery<'static, SqliteConnection, U>
    + for<'a> diesel_async::methods::LoadQuery<'static, &'a AsyncPgConnection, U>
    + Clone
    + Send
    + 'static
{
}

impl<Q, U> Statement<U> for Q where
    Q: RunQueryDsl<PgConnection>
        + RunQueryDsl<SqliteConnection>
        + LoadQuery<'static, PgConnection, U>
        + LoadQuery<'static, SqliteConnection, U>
        + for<'a> diesel_async::methods::LoadQuery<'static, &'a AsyncPgConnection, U>
        + Clone
        + Send
        + 'static
{
}

/// A page's rows and the list's total, as [`Db::page`] found them.
pub struct Paged<T> {
    rows: Vec<T>,
    total: i64,
}

/// A row anyone may be shown once its page is read: not one whose caller's token
/// is still to be confirmed (`auth::standing::Vouched`), whose page, total
/// included, opens only through `Caller::confirm`.
pub trait Shown {}

impl<T: Shown> Paged<T> {
    pub fn open(self) -> (Vec<T>, i64) {
        (self.rows, self.total)
    }
}

impl<T> Paged<T> {
    /// The rows and total whatever they are: for `Caller::confirm`, which shows
    /// them once the token they were read for holds. Anything else calls `open`.
    pub(crate) fn unconfirmed(self) -> (Vec<T>, i64) {
        (self.rows, self.total)
    }
}

thread_local! {
    static INSIDE_RUN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// True while this thread runs a [`Db::run`] closure, for code that must not run
/// there (a password hash) to check in debug builds; always false in release.
pub fn inside_run() -> bool {
    INSIDE_RUN.with(std::cell::Cell::get)
}

/// Marks this thread as inside a `run` closure until dropped, unwinding too.
struct Inside(bool);

impl Inside {
    fn enter() -> Self {
        Self(INSIDE_RUN.with(|inside| inside.replace(true)))
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        INSIDE_RUN.with(|inside| inside.set(self.0));
    }
}

impl Db {
    /// The rows of one read statement.
    pub async fn load<Q, U>(&self, query: Q) -> Result<Vec<U>, ApiError>
    where
        Q: Statement<U>,
        U: Send + 'static,
    {
        match &self.0.engine {
            Engine::Sqlite(sqlite) => match sqlite.local.run(query, |q, c| Ok(q.load(c)?)) {
                Ok(rows) => rows,
                Err(query) => self.load_pooled(query).await,
            },
            Engine::Postgres(pg) => {
                self.bounded(async {
                    if let Some(ticket) = pg.shared.take() {
                        let shared = query.clone();
                        let rows = pg
                            .shared
                            .run(ticket, move |pg| async move {
                                diesel_async::RunQueryDsl::load(shared, &mut &*pg).await
                            })
                            .await;
                        if let Some(rows) = rows {
                            return Ok(rows);
                        }
                    }
                    self.load_pooled(query).await
                })
                .await
            }
        }
    }

    /// [`Db::load`] on a pooled connection: when the engine's own way had no
    /// connection, or the query failed there and the pool is to say why.
    async fn load_pooled<Q, U>(&self, query: Q) -> Result<Vec<U>, ApiError>
    where
        Q: Statement<U>,
        U: Send + 'static,
    {
        self.read(move |conn| Ok(native!(conn, |c| query.load(c))?))
            .await
    }

    /// The first row of one read statement (a lookup by key), if any.
    pub async fn first<Q, U>(&self, query: Q) -> Result<Option<U>, ApiError>
    where
        Q: Statement<U>,
        U: Send + 'static,
    {
        Ok(self.load(query).await?.into_iter().next())
    }

    /// One page of a list whose rows each carry the list's total (`counts::total!`
    /// in the page's own statement: one statement, one round trip), and that total.
    /// A page past the end has no row to carry it; then `count` (the same
    /// `counts::total!` on its own) says. `offset` is the page's place in the list
    /// (its offset, or the cursor's key).
    pub async fn page<Q, C, T>(&self, rows: Q, count: C, offset: i64) -> Result<Paged<T>, ApiError>
    where
        Q: Statement<(T, Option<i64>)>,
        C: Statement<Option<i64>>,
        T: Send + 'static,
    {
        let rows = self.load(rows).await?;
        let total = match rows.first() {
            Some((_, total)) => total.unwrap_or_default(),
            None if offset > 0 => self.first(count).await?.flatten().unwrap_or_default(),
            None => 0,
        };
        Ok(Paged {
            rows: rows.into_iter().map(|(row, _)| row).collect(),
            total,
        })
    }

    /// Runs `work`, which may write: on SQLite in a transaction of the writer
    /// thread (see [`Db::run_then`]), on PostgreSQL on a pooled connection on the
    /// blocking pool, one hop per request.
    ///
    /// The rule for `work`: no password hashing, no network, no waiting (no
    /// sleep, lock or channel that another request holds). On SQLite every write
    /// of the process waits while it runs; on PostgreSQL it holds a pooled
    /// connection. Do that work before, and hand `work` its result. Debug builds
    /// check the hashing part ([`inside_run`]).
    pub async fn run<R, F>(&self, work: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<R, ApiError> + Send + 'static,
    {
        self.run_then(work, |_| ()).await
    }

    /// [`Db::run`], then `committed` with its result once it is stored, before any
    /// later write of this process is: what it announces goes out in commit order.
    ///
    /// On SQLite every write of the process runs on one thread (`writer`), which
    /// commits the writes that queued up meanwhile in one `BEGIN IMMEDIATE`
    /// transaction, each in a savepoint, and answers none before its `COMMIT`
    /// succeeded. On PostgreSQL each statement commits on its own and reports its
    /// own failure.
    pub async fn run_then<R, F, C>(&self, work: F, committed: C) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<R, ApiError> + Send + 'static,
        C: FnOnce(&R) + Send + 'static,
    {
        let work = move |conn: &mut Conn| {
            // only debug builds check it: no thread-local write per release write
            let _inside = cfg!(debug_assertions).then(Inside::enter);
            work(conn)
        };
        match &self.0.engine {
            Engine::Sqlite(sqlite) => sqlite.writer.write(work, committed).await,
            Engine::Postgres(_) => {
                self.pooled(move |conn| {
                    let result = work(conn);
                    if let Ok(value) = &result {
                        committed(value);
                    }
                    result
                })
                .await
            }
        }
    }

    /// Inserts `row` with `I`, then `committed` with what it became once it is
    /// stored: on SQLite one write of the writer's transaction, on PostgreSQL with
    /// the other rows of `I` that are waiting, in one statement.
    pub async fn insert<I, C>(&self, row: I::Row, committed: C) -> Result<I::Out, ApiError>
    where
        I: Inserts,
        C: FnOnce(&I::Out) + Send + 'static,
    {
        match &self.0.engine {
            Engine::Sqlite(_) => {
                self.run_then(move |conn| I::insert_one(conn, &row), committed)
                    .await
            }
            Engine::Postgres(pg) => pg.batches.insert::<I, C>(self, row, committed).await,
        }
    }

    /// Runs read-only `work`. On SQLite, when a connection is idle, it runs right
    /// here: a read from a local file takes microseconds and never waits on a lock
    /// (WAL), and handing it to another thread cost a quarter of the throughput of
    /// a list in the benchmark. Otherwise, and always on PostgreSQL (a network round
    /// trip), it goes to the blocking pool.
    pub async fn read<R, F>(&self, work: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<R, ApiError> + Send + 'static,
    {
        if let Engine::Sqlite(_) = &self.0.engine {
            if let Some(mut conn) = self.0.pool.try_get() {
                return conn.run(work);
            }
        }
        self.pooled(work).await
    }

    /// `work` on a pooled connection on the blocking pool, bounded on PostgreSQL.
    pub(super) async fn pooled<R, F>(&self, work: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<R, ApiError> + Send + 'static,
    {
        let db = self.clone();
        let span = tracing::Span::current();
        let queued = std::time::Instant::now();
        let task = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let conn = match db.pg().map(|pg| pg.timeout.checked_sub(queued.elapsed())) {
                None => db.get(),
                Some(Some(left)) => {
                    db.0.pool
                        .get_timeout(left)
                        .map_err(|e| ApiError::Unavailable(e.into()))
                }
                // its request was answered 503 while it waited for a thread
                Some(None) => Err(ApiError::Unavailable(anyhow::anyhow!("given up"))),
            };
            conn?.run(work)
        });
        self.bounded(async {
            task.await
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("database task failed: {e}")))?
        })
        .await
    }

    /// `work` within the longest a request waits on PostgreSQL: past it, 503.
    pub(super) async fn bounded<R>(
        &self,
        work: impl std::future::Future<Output = Result<R, ApiError>>,
    ) -> Result<R, ApiError> {
        let Some(limit) = self.pg().map(|pg| pg.timeout) else {
            return work.await;
        };
        tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
            Err(ApiError::Unavailable(anyhow::anyhow!(
                "PostgreSQL did not answer within {limit:?}"
            )))
        })
    }
}
