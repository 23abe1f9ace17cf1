//! SQLite's one writer: a thread that runs every write of the process, and commits
//! the writes that queued up while it was busy together, in one transaction.
//!
//! Each write still succeeds or fails on its own (a savepoint around it) and is
//! answered only once the transaction that holds it is committed; a failed
//! `COMMIT` (a full disk) fails every write of it. What a commit costs (the write
//! lock, the pages appended to the log, the log's index) is paid once per batch
//! rather than once per write, and waiting writers no longer each wake a thread to
//! take a mutex in turn.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::{Connection, SqliteConnection};
use tokio::sync::oneshot;

use crate::db::Conn;
use crate::error::ApiError;

/// Savepoints and commits through `Conn`'s own manager, which hands them to the
/// SQLite connection's.
type Txn = <Conn as Connection>::TransactionManager;

/// The most writes one transaction takes: enough to amortise a commit, few enough
/// that the first of them is not kept long.
const MAX_BATCH: usize = 64;

/// Where writes are queued; the thread ends when the last `Writer` is dropped.
#[derive(Clone)]
pub(in crate::db) struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts the writer thread for the SQLite file at `path`. Its connection is
    /// opened at its first write, and opened again after one it could not undo.
    pub(in crate::db) fn start(path: &str) -> anyhow::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>();
        let path = path.to_owned();
        std::thread::Builder::new()
            .name("hearth-writer".into())
            .spawn(move || write_loop(&path, &queue))?;
        Ok(Self { jobs })
    }

    /// Runs `work` in the next transaction, then `committed` with its result once
    /// that transaction is stored, before any later write is run.
    pub(in crate::db) async fn write<R, F, C>(&self, work: F, committed: C) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<R, ApiError> + Send + 'static,
        C: FnOnce(&R) + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let span = tracing::Span::current();
        let job = Task {
            work,
            committed,
            reply,
            span,
        };
        self.jobs
            .send(Box::new(job))
            .map_err(|_| ApiError::Internal(anyhow::anyhow!("the SQLite writer has stopped")))?;
        answer.await.map_err(|_| {
            ApiError::Internal(anyhow::anyhow!("a write failed in the SQLite writer"))
        })?
    }
}

/// A queued write, whatever its result's type.
trait Job: Send {
    /// Runs the write; what it returns is answered once the transaction ends.
    fn run(self: Box<Self>, conn: &mut Conn) -> Box<dyn Ran>;
    /// Answers `err` without running it.
    fn fail(self: Box<Self>, err: ApiError);
}

/// A write that has run, waiting for its transaction's end.
trait Ran: Send {
    fn succeeded(&self) -> bool;
    /// `None`: committed; otherwise why the transaction (or its savepoint) failed.
    fn finish(self: Box<Self>, failure: Option<&DieselError>);
}

struct Task<F, C, R> {
    work: F,
    committed: C,
    reply: oneshot::Sender<Result<R, ApiError>>,
    span: tracing::Span,
}

struct Outcome<C, R> {
    result: Result<R, ApiError>,
    committed: C,
    reply: oneshot::Sender<Result<R, ApiError>>,
}

impl<F, C, R> Job for Task<F, C, R>
where
    R: Send + 'static,
    F: FnOnce(&mut Conn) -> Result<R, ApiError> + Send + 'static,
    C: FnOnce(&R) + Send + 'static,
{
    fn run(self: Box<Self>, conn: &mut Conn) -> Box<dyn Ran> {
        let Self {
            work,
            committed,
            reply,
            span,
        } = *self;
        let result = span.in_scope(|| work(conn));
        Box::new(Outcome {
            result,
            committed,
            reply,
        })
    }

    fn fail(self: Box<Self>, err: ApiError) {
        let _ = self.reply.send(Err(err));
    }
}

impl<C, R> Ran for Outcome<C, R>
where
    R: Send + 'static,
    C: FnOnce(&R) + Send + 'static,
{
    fn succeeded(&self) -> bool {
        self.result.is_ok()
    }

    fn finish(self: Box<Self>, failure: Option<&DieselError>) {
        let result = match (failure, self.result) {
            (None, Ok(value)) => {
                (self.committed)(&value);
                Ok(value)
            }
            (Some(err), Ok(_)) => Err(ApiError::from(echo(err))),
            (_, Err(err)) => Err(err),
        };
        // the request may have gone: nobody to tell
        let _ = self.reply.send(result);
    }
}

/// The same error again, for each write of a transaction that failed: Diesel's
/// errors are not `Clone`, and `ApiError::from` tells them apart by kind and text.
fn echo(err: &DieselError) -> DieselError {
    match err {
        DieselError::DatabaseError(kind, info) => {
            DieselError::DatabaseError(*kind, Box::new(info.message().to_owned()))
        }
        DieselError::BrokenTransactionManager => DieselError::BrokenTransactionManager,
        other => {
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, Box::new(other.to_string()))
        }
    }
}

fn write_loop(path: &str, queue: &mpsc::Receiver<Box<dyn Job>>) {
    let mut conn: Option<Conn> = None;
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        batch.extend(queue.try_iter().take(MAX_BATCH - 1));
        let mut c = match conn.take().map_or_else(|| open(path), Ok) {
            Ok(c) => c,
            Err(err) => {
                tracing::error!(error = %err, "cannot open the SQLite database to write");
                for job in batch {
                    job.fail(ApiError::from(echo(&err)));
                }
                continue;
            }
        };
        // a transaction it could not end: closing the connection undoes it, and
        // the next one starts clean
        if commit_batch(&mut c, batch) {
            conn = Some(c);
        }
    }
}

fn open(path: &str) -> Result<Conn, DieselError> {
    let mut conn = SqliteConnection::establish(path).map_err(|e| {
        DieselError::DatabaseError(DatabaseErrorKind::Unknown, Box::new(e.to_string()))
    })?;
    conn.batch_execute(crate::db::pool::SQLITE_SESSION)?;
    Ok(Conn::Sqlite(conn))
}

/// `BEGIN IMMEDIATE`: Diesel takes a transaction's own `BEGIN` only on a concrete
/// connection; on any other its plain `BEGIN` would do.
fn begin_immediate(conn: &mut Conn) -> diesel::QueryResult<()> {
    match conn {
        Conn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"),
        Conn::Pg(_) => Txn::begin_transaction(conn),
    }
}

/// One transaction: `BEGIN IMMEDIATE` (the write lock first, so that a
/// read-then-write never fails on a snapshot another process moved on), each
/// write in a savepoint, `COMMIT`, then every answer in order. A single
/// `INSERT ... RETURNING` outside a transaction hands back its row before SQLite
/// commits it and loses the commit's error; the explicit `COMMIT` reports it.
/// False when the transaction could not be ended cleanly: the connection is then
/// closed, which rolls back whatever is left of it.
fn commit_batch(conn: &mut Conn, batch: Vec<Box<dyn Job>>) -> bool {
    if let Err(err) = begin_immediate(conn) {
        for job in batch {
            job.fail(ApiError::from(echo(&err)));
        }
        return !Txn::is_broken_transaction_manager(conn);
    }
    let mut ran: Vec<Box<dyn Ran>> = Vec::with_capacity(batch.len());
    let mut jobs = batch.into_iter();
    let mut broken = None;
    for job in jobs.by_ref() {
        if let Err(err) = Txn::begin_transaction(conn) {
            job.fail(ApiError::from(echo(&err)));
            broken = Some(err);
            break;
        }
        // a panic drops the write's answer (its request gets a 500); which of its
        // savepoints are still open is unknown, so the whole transaction goes
        let Ok(outcome) = std::panic::catch_unwind(AssertUnwindSafe(|| job.run(conn))) else {
            broken = Some(DieselError::BrokenTransactionManager);
            break;
        };
        let ended = if outcome.succeeded() {
            Txn::commit_transaction(conn)
        } else {
            Txn::rollback_transaction(conn)
        };
        match ended {
            Ok(()) if outcome.succeeded() => ran.push(outcome),
            Ok(()) => outcome.finish(None),
            Err(err) => {
                outcome.finish(Some(&err));
                broken = Some(err);
                break;
            }
        }
    }
    let result = match broken {
        Some(err) => Err(err),
        None => Txn::commit_transaction(conn),
    };
    let Err(err) = result else {
        for outcome in ran {
            outcome.finish(None);
        }
        return true;
    };
    // nothing of it is stored; whether Diesel already rolled back or not, its
    // count of open transactions may no longer be SQLite's: a fresh connection
    if let Err(rollback) = conn.batch_execute("ROLLBACK") {
        tracing::debug!(error = %rollback, "rollback after a failed transaction");
    }
    for outcome in ran {
        outcome.finish(Some(&err));
    }
    for job in jobs {
        job.fail(ApiError::from(echo(&err)));
    }
    false
}
